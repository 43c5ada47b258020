package redis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"strconv"
)

// crcTable is Redis's CRC-64 (Jones polynomial, reflected), in the
// reversed form hash/crc64 takes.
var crcTable = crc64.MakeTable(0x95ac9329ac4bc9b5)

// crcUpdate continues Redis's CRC, which starts at 0 and is not inverted at
// the end (hash/crc64 inverts both).
func crcUpdate(crc uint64, p []byte) uint64 { return ^crc64.Update(^crc, crcTable, p) }

const (
	// rdbEOF is the opcode that ends the snapshot, before its checksum.
	rdbEOF = 0xFF
	// firstChecksummed is the first RDB version with a CRC64 trailer.
	firstChecksummed = 5
)

var errNotRDB = errors.New("not an RDB snapshot")

// rdbCheck passes a snapshot through to w while it checks it: the magic
// and version at the start, and at the end the EOF opcode and the CRC64
// trailer (a server with rdbchecksum no writes zero there).
type rdbCheck struct {
	w     io.Writer
	n     int64
	head  [9]byte
	crc   uint64
	last  byte // the last byte the CRC covers
	tail  [8]byte
	tailN int
}

func (c *rdbCheck) Write(p []byte) (int, error) {
	if c.n < int64(len(c.head)) {
		copied := copy(c.head[c.n:], p)
		if have := c.n + int64(copied); have >= 5 && string(c.head[:5]) != "REDIS" {
			return 0, fmt.Errorf("%w: it starts with %q", errNotRDB, c.head[:min(have, 9)])
		}
	}
	c.n += int64(len(p))
	c.window(p)
	return c.w.Write(p)
}

// window feeds the CRC all but the last 8 bytes seen so far.
func (c *rdbCheck) window(p []byte) {
	if c.tailN+len(p) <= len(c.tail) {
		c.tailN += copy(c.tail[c.tailN:], p)
		return
	}
	leave := c.tailN + len(p) - len(c.tail) // bytes that leave the window
	fromTail := min(leave, c.tailN)
	if fromTail > 0 {
		c.crc = crcUpdate(c.crc, c.tail[:fromTail])
		c.last = c.tail[fromTail-1]
	}
	if rest := leave - fromTail; rest > 0 {
		c.crc = crcUpdate(c.crc, p[:rest])
		c.last = p[rest-1]
	}
	kept := copy(c.tail[:], c.tail[fromTail:c.tailN])
	c.tailN = kept + copy(c.tail[kept:], p[leave-fromTail:])
}

// finish checks the end of the snapshot.
func (c *rdbCheck) finish() error {
	if c.n < int64(len(c.head))+1 {
		return fmt.Errorf("%w: only %d bytes", errNotRDB, c.n)
	}
	version, err := strconv.Atoi(string(c.head[5:9]))
	if err != nil {
		return fmt.Errorf("%w: version %q", errNotRDB, c.head[5:9])
	}
	if version < firstChecksummed {
		if c.tail[c.tailN-1] != rdbEOF {
			return errors.New("RDB snapshot is truncated: no end marker")
		}
		return nil
	}
	if c.tailN < len(c.tail) || c.last != rdbEOF {
		return errors.New("RDB snapshot is truncated: no end marker before the checksum")
	}
	if want := binary.LittleEndian.Uint64(c.tail[:]); want != 0 && want != c.crc {
		return fmt.Errorf("RDB snapshot is damaged: checksum %016x, the snapshot says %016x", c.crc, want)
	}
	return nil
}
