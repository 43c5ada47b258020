package pgarchive

import "math"

// block reads a data block's header. src may end here: the archive is whole.
func (m *merger) block() error {
	t, err := m.src.ReadByte()
	if err != nil {
		return err // io.EOF: the end of the archive
	}
	m.out = append(m.out, t)
	if t != blockData && t != blockLOs {
		return errPassThrough
	}
	id, err := m.int()
	if err != nil {
		return err
	}
	if !m.blocks[id] {
		return errPassThrough // not a block the TOC announced, or a second one
	}
	delete(m.blocks, id)
	if t == blockLOs {
		m.next = m.largeObject
		return nil
	}
	m.next = m.pieces(m.block)
	return nil
}

// largeObject reads the oid that starts a large object's pieces, or the
// zero that ends the block.
func (m *merger) largeObject() error {
	oid, err := m.int()
	if err != nil {
		return err
	}
	switch {
	case oid == 0:
		m.next = m.block
	case oid < 0 || oid > math.MaxUint32:
		return errPassThrough
	default:
		m.next = m.pieces(m.largeObject)
	}
	return nil
}

// pieces returns the step that joins the pieces of one data stream into
// pieces of about m.piece bytes, then goes on with after. A piece of at
// least m.piece bytes is passed on as it is, without being held.
func (m *merger) pieces(after func() error) func() error {
	return func() error {
		at := len(m.out)
		m.out = append(m.out, make([]byte, 1+m.intSize)...) // the joined piece's length, set below
		joined := 0
		finish := func() {
			if joined == 0 {
				m.out = m.out[:at]
				return
			}
			m.putInt(at, joined)
		}
		for joined < m.piece {
			lenAt := len(m.out)
			n, err := m.int()
			if err != nil {
				finish()
				return err
			}
			var length [9]byte
			copy(length[:], m.out[lenAt:])
			lengthBytes := length[:1+m.intSize]
			switch {
			case n == 0: // end of the stream
				m.out = m.out[:lenAt]
				finish()
				m.out = append(m.out, lengthBytes...)
				m.next = after
				return nil
			case n < 0 || n > maxField:
				m.out = m.out[:lenAt]
				finish()
				m.out = append(m.out, lengthBytes...)
				return errPassThrough
			case n >= int64(m.piece):
				m.out = m.out[:lenAt]
				finish()
				m.out = append(m.out, lengthBytes...)
				m.raw = n
				return nil
			}
			m.out = m.out[:lenAt]
			if _, err := m.take(int(n)); err != nil {
				finish()
				return err
			}
			joined += int(n)
		}
		finish()
		return nil
	}
}
