package etcd

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

// snapshotOf is a fake database of pages pages, followed by its SHA-256,
// as the server sends it.
func snapshotOf(pages int) []byte {
	db := make([]byte, pages*4096)
	_, _ = rand.Read(db)
	sum := sha256.Sum256(db)
	return append(db, sum[:]...)
}

// TestChecksum feeds snapshots in chunks of every kind of size: the check
// must not depend on how the stream was cut into writes.
func TestChecksum(t *testing.T) {
	for _, pages := range []int{1, 2, 33} {
		snap := snapshotOf(pages)
		for _, maxChunk := range []int{1, 7, 31, 32, 33, 4096, 100_000} {
			c := newChecksum()
			for b := snap; len(b) > 0; {
				n := min(len(b), 1+mrand.IntN(maxChunk))
				_, _ = c.Write(b[:n])
				b = b[n:]
			}
			if err := c.verify(); err != nil {
				t.Errorf("%d pages in chunks up to %d: %v", pages, maxChunk, err)
			}
		}
	}
	snap := snapshotOf(2)
	tests := map[string][]byte{
		"empty":          nil,
		"checksum only":  snap[len(snap)-32:],
		"truncated":      snap[:len(snap)-1],
		"no checksum":    snap[:len(snap)-32],
		"one page short": snap[4096:],
		"flipped bit":    func() []byte { b := append([]byte(nil), snap...); b[100] ^= 1; return b }(),
		"bad checksum":   func() []byte { b := append([]byte(nil), snap...); b[len(b)-1] ^= 1; return b }(),
	}
	for name, data := range tests {
		c := newChecksum()
		_, _ = c.Write(data)
		if err := c.verify(); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: verify = %v, want ErrBadSnapshot", name, err)
		}
	}
}

func TestCorrupt(t *testing.T) {
	tests := map[string]struct {
		errs []string
		want bool
	}{
		"none":    {nil, false},
		"nospace": {[]string{"memberID:8e9e05c52164694d  alarm:NOSPACE "}, false},
		"corrupt": {[]string{"memberID:8e9e05c52164694d  alarm:NOSPACE ", "memberID:1 alarm:CORRUPT "}, true},
	}
	for name, tc := range tests {
		if got := corrupt(tc.errs); got != tc.want {
			t.Errorf("%s: corrupt = %v, want %v", name, got, tc.want)
		}
	}
}
