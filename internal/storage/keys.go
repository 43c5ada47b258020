package storage

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// tempName matches the names fileblob (and CreateExclusive on a
// filesystem) give files that are still being written: "<name>.<hex>.tmp".
var tempName = regexp.MustCompile(`\.[0-9a-f]+\.tmp$`)

// attrsSuffix marks fileblob's metadata sidecar files.
const attrsSuffix = ".attrs"

// hiddenName reports whether a file name belongs to the filesystem
// backend's machinery rather than to an object.
func hiddenName(name string) bool {
	return tempName.MatchString(name) || strings.HasSuffix(name, attrsSuffix)
}

// validateKey rejects keys that two backends would store differently, or
// that could leave the store's root: every backend accepts the same keys,
// so a layout tested on a filesystem works on S3.
func validateKey(key string) error {
	if key == "" {
		return errors.New("key is empty")
	}
	if err := validatePrefix(key); err != nil {
		return err
	}
	if strings.HasSuffix(key, "/") {
		return fmt.Errorf("key %q ends with /", key)
	}
	if hiddenName(path.Base(key)) {
		return fmt.Errorf("key %q looks like a temporary or metadata file", key)
	}
	return nil
}

// validatePrefix is validateKey for List prefixes, which may be empty and
// may end with "/" or in the middle of a segment.
func validatePrefix(prefix string) error {
	if !utf8.ValidString(prefix) {
		return fmt.Errorf("key %q is not valid UTF-8", prefix)
	}
	if strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("key %q starts with /", prefix)
	}
	for _, r := range prefix {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("key %q contains a control character or backslash", prefix)
		}
	}
	segments := strings.Split(prefix, "/")
	for i, s := range segments {
		last := i == len(segments)-1
		if (s == "" && !last) || s == "." || s == ".." {
			return fmt.Errorf("key %q has an empty, . or .. segment", prefix)
		}
	}
	return nil
}
