package pgarchive

import (
	"io"
	"math"
)

// take appends the next n bytes of src to out and returns them. It grows
// out only as bytes arrive, so a corrupt length costs no more memory than
// the bytes that are there.
func (m *merger) take(n int) ([]byte, error) {
	start := len(m.out)
	for len(m.out)-start < n {
		at := len(m.out)
		m.out = append(m.out, make([]byte, min(n-(at-start), 64<<10))...)
		got, err := io.ReadFull(m.src, m.out[at:])
		if err != nil {
			m.out = m.out[:at+got]
			if err == io.EOF && len(m.out) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return m.out[start:], nil
}

// int reads one of the archive's integers (a sign byte, then intSize bytes,
// least significant first) and appends its bytes to out.
func (m *merger) int() (int64, error) {
	b, err := m.take(1 + m.intSize)
	if err != nil {
		return 0, err
	}
	return decodeInt(b), nil
}

func decodeInt(b []byte) int64 {
	var v uint64
	for i := len(b) - 1; i >= 1; i-- {
		v = v<<8 | uint64(b[i])
	}
	if v > math.MaxInt64 {
		return math.MinInt64 // out of every range checked
	}
	if b[0] != 0 {
		return -int64(v)
	}
	return int64(v)
}

func (m *merger) putInt(at int, v int) {
	m.out[at] = 0
	for i := 1; i <= m.intSize; i++ {
		m.out[at+i] = byte(v)
		v >>= 8
	}
}

// str reads one of the archive's strings (a length, -1 for NULL, then the
// bytes) and appends it to out; null is true for a NULL string.
func (m *merger) str() (null bool, err error) {
	n, err := m.int()
	if err != nil {
		return false, err
	}
	if n < -1 || n > maxField {
		return false, errPassThrough
	}
	if n > 0 {
		_, err = m.take(int(n))
	}
	return n == -1, err
}

func (m *merger) strs(n int) error {
	for range n {
		if _, err := m.str(); err != nil {
			return err
		}
	}
	return nil
}

// intIn is int, passing through an integer outside lo..hi: pg_dump writes
// none, so the parse is off.
func (m *merger) intIn(lo, hi int64) (int64, error) {
	v, err := m.int()
	if err == nil && (v < lo || v > hi) {
		err = errPassThrough
	}
	return v, err
}
