package pgarchive

import (
	"errors"
	"io"
	"math"
)

// header reads the archive's header and the TOC's entry count.
func (m *merger) header() error {
	b, err := m.take(len(magic) + 5)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errPassThrough // shorter than a header: not an archive
	}
	if err != nil {
		return err
	}
	if string(b[:len(magic)]) != magic {
		return errPassThrough
	}
	m.version = int(b[5])<<16 | int(b[6])<<8 | int(b[7])
	m.intSize, m.offSize = int(b[8]), int(b[9])
	if m.version < minVersion || m.version > maxVersion || m.intSize < 4 || m.intSize > 8 || m.offSize < 1 || m.offSize > 8 {
		return errPassThrough
	}
	if b, err = m.take(1); err != nil {
		return err
	}
	if b[0] != formatCustom {
		return errPassThrough
	}
	if err := m.compressionNone(); err != nil {
		return err
	}
	for range 7 { // creation time: sec, min, hour, mday, mon, year, isdst
		if _, err := m.int(); err != nil {
			return err
		}
	}
	for range 3 { // database name, server version, pg_dump version
		if _, err := m.str(); err != nil {
			return err
		}
	}
	n, err := m.int()
	if err != nil {
		return err
	}
	if n < 0 || n > math.MaxInt32 {
		return errPassThrough
	}
	m.entries = int(n)
	m.blocks = map[int64]bool{}
	m.next = m.tocEntry
	return nil
}

// compressionNone reads the header's compression and passes through
// anything but an uncompressed archive: a compressed one's pieces are
// pieces of a compressed stream, already large.
func (m *merger) compressionNone() error {
	if m.version >= v1_15 {
		b, err := m.take(1)
		if err != nil {
			return err
		}
		if b[0] != 0 { // PG_COMPRESSION_NONE
			return errPassThrough
		}
		return nil
	}
	level, err := m.int()
	if err != nil {
		return err
	}
	if level != 0 {
		return errPassThrough
	}
	return nil
}

// tocEntry reads one TOC entry, or starts the data blocks after the last.
// Every field is checked where pg_dump writes a known range, so that a
// layout this package has wrong is noticed and passed through rather than
// misread.
func (m *merger) tocEntry() error {
	if m.entries == 0 {
		if m.seekable {
			return errPassThrough // merging would move the data off its recorded positions
		}
		m.next = m.block
		return m.block()
	}
	m.entries--
	id, err := m.intIn(1, math.MaxInt32) // dumpId
	if err != nil {
		return err
	}
	if _, err := m.intIn(0, 1); err != nil { // hadDumper
		return err
	}
	if err := m.strs(4); err != nil { // tableoid, oid, tag, desc
		return err
	}
	if _, err := m.intIn(sectionFirst, sectionLast); err != nil { // section
		return err
	}
	if err := m.strs(5); err != nil { // defn, dropStmt, copyStmt, namespace, tablespace
		return err
	}
	if m.version >= v1_14 {
		if err := m.strs(1); err != nil { // tableam
			return err
		}
	}
	if m.version >= v1_16 {
		if _, err := m.intIn(0, 0x7f); err != nil { // relkind: a pg_class.relkind letter, or 0
			return err
		}
	}
	if err := m.strs(2); err != nil { // owner, "false" (WITH OIDS)
		return err
	}
	for { // dependencies, ended by a NULL string
		null, err := m.str()
		if err != nil {
			return err
		}
		if null {
			break
		}
	}
	return m.dataState(id)
}

// dataState reads the end of a TOC entry: whether a data block follows
// (custom format: a flag and an offset).
func (m *merger) dataState(id int64) error {
	b, err := m.take(1 + m.offSize)
	if err != nil {
		return err
	}
	switch b[0] {
	case offsetPosNotSet:
		m.blocks[id] = true
	case offsetPosSet:
		m.seekable = true
	case offsetNoData:
	default:
		return errPassThrough
	}
	return nil
}
