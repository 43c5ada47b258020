// Package pgarchive reads the structure of pg_dump's custom-format archive
// (`pg_dump --format=custom`) as far as the restore needs it: to hand
// pg_restore the same archive with its data in fewer, larger pieces.
//
// `pg_dump --format=custom --compress=0`, which the runner writes so that
// chunks deduplicate, stores every row of COPY data as its own length-prefixed
// piece, and pg_restore sends every piece to the server as its own CopyData
// message: about 7 % more server time than the gzip archive's 4 KiB pieces
// (docs/benchmarks.md). The archive's layout (pg_backup_archiver.c ReadHead,
// ReadToc; pg_backup_custom.c) is: a header, the table of contents, then one
// data block per TOC entry that has data, each a sequence of
// (length, bytes) pieces ended by a zero length; a large-object block is a
// sequence of (oid, pieces) ended by a zero oid.
//
// No Go library reads this format (it is pg_dump's private format, versioned
// by archive version), so this one is written here, and written to be safe
// when it is wrong: everything it does not recognise, from an archive version
// it does not know to a compressed archive or a field out of range, is passed
// on byte for byte, so the worst outcome is the unmerged archive.
package pgarchive

import (
	"bufio"
	"errors"
	"io"
	"math"
)

const (
	magic = "PGDMP"

	formatCustom = 1 // archCustom in pg_backup.h
	blockData    = 1 // BLK_DATA in pg_backup_archiver.h
	blockLOs     = 3 // BLK_BLOBS

	// A TOC entry's data state (pg_backup_archiver.h).
	offsetPosNotSet = 1 // K_OFFSET_POS_NOT_SET: a data block follows, position unknown
	offsetPosSet    = 2 // K_OFFSET_POS_SET: the archive has seek positions
	offsetNoData    = 3 // K_OFFSET_NO_DATA

	// A TOC entry's section: SECTION_NONE (1) to SECTION_POST_DATA (4).
	sectionFirst, sectionLast = 1, 4

	// Archive versions whose layout this package knows: 1.12 (PostgreSQL 9.0)
	// to 1.16 (PostgreSQL 17 and later), any revision.
	minVersion = 1<<16 | 12<<8
	maxVersion = 1<<16 | 16<<8 | 0xff
	v1_14      = 1<<16 | 14<<8 // tableam in the TOC
	v1_15      = 1<<16 | 15<<8 // compression algorithm byte in the header
	v1_16      = 1<<16 | 16<<8 // relkind in the TOC

	// maxField bounds a string or piece this package will hold; pg_dump
	// writes nothing near it, and a larger length means the parse is off.
	maxField = 1 << 30

	// DefaultPiece is the size Merge groups data into: large enough that a
	// CopyData message's per-message cost disappears, small enough that it
	// is no burden on the server's receive buffer.
	DefaultPiece = 64 << 10
)

// errPassThrough switches the merger to copying the rest unchanged.
var errPassThrough = errors.New("pgarchive: pass the rest through")

// Merge returns a reader of src in which every data block's pieces are
// joined into pieces of about piece bytes (DefaultPiece when piece ≤ 0).
// pg_restore restores the result exactly as it restores src. An archive
// that is not an uncompressed custom-format archive of a known version,
// or any part this package does not recognise, is passed on unchanged.
// Errors reading src are returned as they are; src ending inside the
// archive's structure is io.ErrUnexpectedEOF.
func Merge(src io.Reader, piece int) io.Reader {
	if piece <= 0 {
		piece = DefaultPiece
	}
	m := &merger{src: bufio.NewReaderSize(src, 256<<10), piece: piece}
	m.next = m.header
	return m
}

type merger struct {
	src   *bufio.Reader
	piece int
	next  func() error // parses the next part of the archive into out

	out []byte // output ready to be read
	pos int

	// raw bytes of src to pass on unchanged before parsing again; rawToEnd
	// passes on everything up to src's end.
	raw      int64
	rawToEnd bool
	err      error

	version          int
	intSize, offSize int
	seekable         bool // some TOC entry has a seek position
	entries          int  // TOC entries still to read
	// blocks are the dump ids of the TOC entries whose data block is still
	// to come: a block of any other id means the parse went wrong.
	blocks map[int64]bool
}

func (m *merger) Read(p []byte) (int, error) {
	for m.pos == len(m.out) {
		if m.rawToEnd || m.raw > 0 {
			return m.readRaw(p)
		}
		if m.err != nil {
			return 0, m.err
		}
		m.out, m.pos = m.out[:0], 0
		if err := m.next(); err != nil {
			switch {
			case errors.Is(err, errPassThrough):
				m.rawToEnd = true
			case err == io.EOF && len(m.out) > 0:
				m.err = io.ErrUnexpectedEOF
			default:
				m.err = err
			}
		}
	}
	n := copy(p, m.out[m.pos:])
	m.pos += n
	return n, nil
}

func (m *merger) readRaw(p []byte) (int, error) {
	if !m.rawToEnd && int64(len(p)) > m.raw {
		p = p[:m.raw]
	}
	n, err := m.src.Read(p)
	m.raw -= int64(n)
	if err == io.EOF && !m.rawToEnd && m.raw > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == io.EOF && !m.rawToEnd {
		err = nil
	}
	return n, err
}

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
func (m *merger) tocEntry() error {
	if m.entries == 0 {
		if m.seekable {
			return errPassThrough // merging would move the data off its recorded positions
		}
		m.next = m.block
		return m.block()
	}
	m.entries--
	// Every field is checked where pg_dump writes a known range, so that a
	// layout this package has wrong is noticed and passed through rather
	// than misread.
	id, err := m.int()
	if err != nil {
		return err
	}
	hadDumper, err := m.int()
	if err != nil {
		return err
	}
	if id <= 0 || id > math.MaxInt32 || hadDumper < 0 || hadDumper > 1 {
		return errPassThrough
	}
	// tableoid, oid, tag, desc
	if err := m.strs(4); err != nil {
		return err
	}
	section, err := m.int()
	if err != nil {
		return err
	}
	if section < sectionFirst || section > sectionLast {
		return errPassThrough
	}
	// defn, dropStmt, copyStmt, namespace, tablespace
	if err := m.strs(5); err != nil {
		return err
	}
	if m.version >= v1_14 {
		if err := m.strs(1); err != nil { // tableam
			return err
		}
	}
	if m.version >= v1_16 {
		relkind, err := m.int() // a pg_class.relkind letter, or 0
		if err != nil {
			return err
		}
		if relkind < 0 || relkind > 0x7f {
			return errPassThrough
		}
	}
	// owner, "false" (WITH OIDS)
	if err := m.strs(2); err != nil {
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
	b, err := m.take(1 + m.offSize) // data state, offset
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

func (m *merger) strs(n int) error {
	for range n {
		if _, err := m.str(); err != nil {
			return err
		}
	}
	return nil
}

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
