package chunked

import (
	"bytes"
	"io"
	"testing"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/coffer-dev/coffer/internal/zframe"
)

// TestFrameChecksumOnlyInClear: a chunk stored in clear carries zstd's
// frame checksum, its only check by hand; an encrypted one does not, age's
// authentication being that check. Both decode to the plain bytes.
func TestFrameChecksumOnlyInClear(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	plain := noisy(7, 300<<10)
	for _, c := range []struct {
		name       string
		recipients []age.Recipient
		checksum   bool
	}{
		{"clear", nil, true},
		{"encrypted", []age.Recipient{id.Recipient()}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			enc, err := newEncoder(zframe.Fastest, c.recipients)
			if err != nil {
				t.Fatal(err)
			}
			defer enc.close()
			stored, err := enc.encode(plain)
			if err != nil {
				t.Fatal(err)
			}
			frame := stored
			if c.recipients != nil {
				r, err := age.Decrypt(bytes.NewReader(stored), id)
				if err != nil {
					t.Fatal(err)
				}
				if frame, err = io.ReadAll(r); err != nil {
					t.Fatal(err)
				}
			}
			var h zstd.Header
			if err := h.Decode(frame); err != nil {
				t.Fatal(err)
			}
			if h.HasCheckSum != c.checksum {
				t.Fatalf("frame checksum %v, want %v", h.HasCheckSum, c.checksum)
			}
			dec, err := NewDecoder()
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			got, err := dec.DecodeAll(frame, nil)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("decoded %d bytes, err %v", len(got), err)
			}
		})
	}
}
