package layout

import (
	"crypto/rand"
	"regexp"
	"strings"
	"time"
)

// idTimeFormat is the time part of an id: UTC, one-second resolution, fixed
// width, so that ids (and so backup directories) sort by time as strings.
const idTimeFormat = "20060102T150405Z"

var (
	// idPattern: the time part, then four random characters so that two
	// runs of one second do not collide.
	idPattern = regexp.MustCompile(`^\d{8}T\d{6}Z-[a-z0-9]{4}$`)
	// targetPattern: a DNS label, because a target name becomes the first
	// part of an object name and must not contain the dot that separates
	// it from the extension.
	targetPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// extPattern: engines' dump formats are one lower-case word (pgdump,
	// sql, tar, db, rdb, bundle); a dot would make the name ambiguous.
	extPattern = regexp.MustCompile(`^[a-z0-9]+$`)
)

// NewID returns a backup or restore id that sorts by time:
// 20261121T103000Z-k3f9.
func NewID(now time.Time) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return now.UTC().Format(idTimeFormat) + "-" + string(b)
}

// ValidID reports whether s has the form of an id (20261121T103000Z-k3f9).
// Ids arrive from URLs and command lines; only a valid one may become part
// of a key, so that no input can name another directory.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// IDSecond is the time part of an id (20261121T103000Z), which compares as a
// string: two ids of the same second cannot be ordered by their ids alone.
func IDSecond(id string) string {
	t, _, _ := strings.Cut(id, "-")
	return t
}

// ValidTarget reports whether a target name can become an object name that
// parses back (a DNS label).
func ValidTarget(name string) bool { return targetPattern.MatchString(name) }

// ValidChunkHash reports whether s can name a chunk: ChunkHashDigits
// lower-case hex digits.
func ValidChunkHash(s string) bool {
	if len(s) != ChunkHashDigits {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validExt reports whether an engine's extension parses back.
func validExt(ext string) bool { return extPattern.MatchString(ext) }
