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
