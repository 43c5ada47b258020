package zframe

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/cespare/xxhash/v2"
)

// A frame of raw blocks (RFC 8878, section 3.1.1): the magic number, a
// header, the bytes in blocks of at most 128 KiB each behind a 3-byte block
// header, and optionally the low 32 bits of the content's xxHash64.
const (
	magic       = 0xFD2FB528
	maxBlock    = 128 << 10
	checksumBit = 1 << 2
	singleBit   = 1 << 5
	lastBlock   = 1 // block type 0 (raw) in bits 1–2, size from bit 3
)

// appendRawFrame appends src as one frame that names its content size
// (single segment: the window is the content) to dst.
func appendRawFrame(dst, src []byte, checksum bool) []byte {
	n := uint64(len(src))
	desc := byte(singleBit)
	if checksum {
		desc |= checksumBit
	}
	dst = binary.LittleEndian.AppendUint32(dst, magic)
	switch {
	case n < 256:
		dst = append(dst, desc, byte(n))
	case n < 65536+256:
		dst = binary.LittleEndian.AppendUint16(append(dst, desc|1<<6), uint16(n-256))
	case n <= 0xFFFFFFFF:
		dst = binary.LittleEndian.AppendUint32(append(dst, desc|2<<6), uint32(n))
	default:
		dst = binary.LittleEndian.AppendUint64(append(dst, desc|3<<6), n)
	}
	rest := src
	for {
		b := rest[:min(len(rest), maxBlock)]
		rest = rest[len(b):]
		dst = appendBlock(dst, b, len(rest) == 0)
		if len(rest) == 0 {
			break
		}
	}
	if checksum {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(xxhash.Sum64(src)))
	}
	return dst
}

func appendBlock(dst, b []byte, last bool) []byte {
	return append(appendBlockHeader(dst, len(b), last), b...)
}

// appendBlockHeader appends the 3-byte header of a raw block of size bytes.
func appendBlockHeader(dst []byte, size int, last bool) []byte {
	h := uint32(size) << 3
	if last {
		h |= lastBlock
	}
	return append(dst, byte(h), byte(h>>8), byte(h>>16))
}

// rawStream writes a frame of unknown size: a 128 KiB window, blocks as
// they fill, and at Close the last block and the content checksum.
type rawStream struct {
	w       io.Writer
	started bool
	closed  bool
	buf     []byte // the block being filled
	hdr     []byte
	sum     *xxhash.Digest
	err     error
}

func newRawStream(w io.Writer) *rawStream {
	return &rawStream{w: w, buf: make([]byte, 0, maxBlock), sum: xxhash.New()}
}

func (s *rawStream) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, errors.New("zstd frame: write after close")
	}
	n := len(p)
	_, _ = s.sum.Write(p)
	for len(p) > 0 {
		if len(s.buf) == 0 && len(p) >= maxBlock {
			s.emit(p[:maxBlock], false)
			p = p[maxBlock:]
			continue
		}
		k := min(len(p), maxBlock-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == maxBlock {
			s.emit(s.buf, false)
			s.buf = s.buf[:0]
		}
	}
	if s.err != nil {
		return 0, s.err
	}
	return n, nil
}

// Close writes the last block and the checksum; it does not close the
// writer underneath.
func (s *rawStream) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	s.emit(s.buf, true)
	s.buf = s.buf[:0]
	if s.err == nil {
		_, s.err = s.w.Write(binary.LittleEndian.AppendUint32(s.hdr[:0], uint32(s.sum.Sum64())))
	}
	return s.err
}

// emit writes a block, after the frame's header if it is the first.
func (s *rawStream) emit(b []byte, last bool) {
	if s.err != nil {
		return
	}
	h := s.hdr[:0]
	if !s.started {
		// No content size, not single segment: a window descriptor of
		// 2^(10+7) bytes, exponent 7 and mantissa 0.
		h = append(binary.LittleEndian.AppendUint32(h, magic), checksumBit, 7<<3)
		s.started = true
	}
	h = appendBlockHeader(h, len(b), last)
	s.hdr = h
	if _, s.err = s.w.Write(h); s.err == nil && len(b) > 0 {
		_, s.err = s.w.Write(b)
	}
}
