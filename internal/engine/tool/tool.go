// Package tool runs the client tools that engines drive (pg_dump, mariadb,
// ...) the way Coffer needs them: found in PATH at call time, secrets only in
// 0600 files of a private directory, output streamed without temp files,
// stderr kept (bounded, scrubbed) for error messages, and the child killed
// when the context ends or when the stream on either side fails.
package tool

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine"
)

// Find returns the path of the first of names found in PATH. PATH is read
// at call time, so tests can put wrappers in front of the real tools. When
// none is found the error wraps engine.ErrToolMissing and names the Debian
// package that provides the tool.
func Find(pkg string, names ...string) (string, error) {
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH (install the Debian package %s): %w",
		strings.Join(names, " or "), pkg, engine.ErrToolMissing)
}
