package tool

import (
	"io"
)

// streamCopySize is how much of a tool's output one read takes, and of its
// input one write; exec's own copy moves 32 KiB at a time, and a dump of a
// gigabyte is then 32,000 reads.
const streamCopySize = 256 << 10

// streamPipeSize is the pipe buffer asked for on a tool's stdout and stdin:
// the default 64 KiB makes a fast dump or restore stop and wake the runner
// many times a second.
const streamPipeSize = 1 << 20

// ReadFrom is what exec's copy from the tool's stdout pipe calls: it grows
// the pipe (where the system allows) and reads in large pieces, each
// through Write, so a failed write still kills the tool.
func (k *killingWriter) ReadFrom(r io.Reader) (int64, error) { return streamCopy(r, k, r) }

// WriteTo is what exec's copy into the tool's stdin pipe calls: it grows
// the pipe and writes in large pieces, reading through Read, so a failed
// read still kills the tool before its input is closed.
func (k *killingReader) WriteTo(w io.Writer) (int64, error) { return streamCopy(w, w, k) }

// streamCopy grows the tool's end of the pipe and copies src to dst
// streamCopySize bytes at a time. The wrappers hide dst's ReadFrom and
// src's WriteTo, which would call back into the killing wrappers or
// allocate their own buffer.
func streamCopy(pipe any, dst io.Writer, src io.Reader) (int64, error) {
	growPipe(pipe, streamPipeSize)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, streamCopySize))
}
