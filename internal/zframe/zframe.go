// Package zframe owns the compressed form of everything Coffer stores: one
// zstd frame per object (format 1) or per chunk (format 2), whatever the
// level, so that `zstd -d` reverses any of them by hand. Level none writes
// frames of raw blocks: no compression and almost no CPU, for data that
// does not compress or a CPU that matters more than the bytes stored.
package zframe

import (
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Level is a storage's spec.compression.level. The zero value is Fastest,
// the default.
type Level int

const (
	// Fastest is zstd level 1: it keeps up with pg_dump on two cores.
	Fastest Level = iota
	// Default is zstd level 3.
	Default
	// Better is zstd level 7.
	Better
	// Best is zstd level 11.
	Best
	// None stores raw blocks: zstd frames that are not compressed.
	None
)

// names are the config's names of the levels, in the order of their values.
var names = [...]string{Fastest: "fastest", Default: "default", Better: "better", Best: "best", None: "none"}

// ParseLevel returns the level a config names; the empty name is Fastest.
func ParseLevel(name string) (Level, error) {
	if name == "" {
		return Fastest, nil
	}
	for l, n := range names {
		if n == name {
			return Level(l), nil
		}
	}
	return 0, fmt.Errorf("%q is not one of %s", name, strings.Join(names[:], ", "))
}

func (l Level) String() string {
	if l < 0 || int(l) >= len(names) {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return names[l]
}

func (l Level) zstd() zstd.EncoderLevel {
	switch l {
	case Default:
		return zstd.SpeedDefault
	case Better:
		return zstd.SpeedBetterCompression
	case Best:
		return zstd.SpeedBestCompression
	}
	return zstd.SpeedFastest
}

// NewStream returns a writer that writes one zstd frame, with its content
// checksum, to w; Close ends the frame (it does not close w).
func NewStream(w io.Writer, l Level) (io.WriteCloser, error) {
	if l == None {
		return newRawStream(w), nil
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(l.zstd()), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("starting zstd: %w", err)
	}
	return zw, nil
}

// Encoder makes a whole frame of each buffer it is given.
type Encoder struct {
	zw       *zstd.Encoder // nil at level None
	checksum bool
}

// NewEncoder returns an Encoder at level l that writes the frame's content
// checksum (xxHash64 of the plain bytes) when checksum is set.
func NewEncoder(l Level, checksum bool) (*Encoder, error) {
	e := &Encoder{checksum: checksum}
	if l == None {
		return e, nil
	}
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(l.zstd()), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(checksum))
	if err != nil {
		return nil, fmt.Errorf("starting zstd: %w", err)
	}
	e.zw = zw
	return e, nil
}

// EncodeAll appends the frame of src to dst.
func (e *Encoder) EncodeAll(src, dst []byte) []byte {
	if e.zw == nil {
		return appendRawFrame(dst, src, e.checksum)
	}
	return e.zw.EncodeAll(src, dst)
}

// Close releases the encoder's state.
func (e *Encoder) Close() {
	if e.zw != nil {
		_ = e.zw.Close()
	}
}

// Bound is room for the frame of n bytes at any level: zstd's frames of
// data that does not compress are a little larger than it.
func Bound(n int) int { return n + n/128 + 1024 }
