package tool

import (
	"io"
)

// outputReadSize is how much of a tool's output one read takes; exec's own
// copy reads 32 KiB at a time, and a dump of a gigabyte is then 32,000 reads.
const outputReadSize = 256 << 10

// outputPipeSize is the pipe buffer asked for on a tool's stdout: the
// default 64 KiB makes a fast dump stop and wake the runner many times a
// second.
const outputPipeSize = 1 << 20

// ReadFrom is what exec's copy from the tool's stdout pipe calls: it grows
// the pipe (where the system allows) and reads in large pieces, each
// through Write, so a failed write still kills the tool.
func (k *killingWriter) ReadFrom(r io.Reader) (int64, error) {
	growPipe(r, outputPipeSize)
	buf := make([]byte, outputReadSize)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			m, werr := k.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
