//go:build !linux

package enginetest

import "errors"

func killChildren([]string) error {
	return errors.New("finding child processes needs /proc (Linux)")
}
