package storage

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// guardedReader is the source side of a Put. It stops the stream when ctx
// ends, even if the SDK is not waiting on the network at that moment, and
// when the stream grows past max bytes. The part-count limit is enforced
// here, before a byte beyond it reaches the writer, so it holds whatever the
// SDK does (the transfer manager, for one, only notices after reading one
// more part, and resizes parts on its own when it knows a length).
type guardedReader struct {
	ctx      context.Context
	r        io.Reader
	n        int64
	max      int64 // 0: no limit
	tooLarge string
	// err is the first error that came from the source side (the reader,
	// ctx or the size limit), so Put can report it instead of the writer's
	// consequential "context canceled".
	err error
}

func (g *guardedReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if err := g.ctx.Err(); err != nil {
		g.err = err
		return 0, err
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.max > 0 && g.n > g.max {
		// Hand over none of this read: the upload is aborted anyway, and a
		// partial last part must never be completed.
		g.err = fmt.Errorf("%w: the stream is larger than %d bytes (%s)", ErrTooManyParts, g.max, g.tooLarge)
		return 0, g.err
	}
	if err != nil && err != io.EOF {
		g.err = err
	}
	return n, err
}

// copyBuffers are Put's copy buffers. Without one, gocloud's writer
// allocates (and the runtime zeroes) 1 MiB for every object it writes,
// which a deduplicated backup does for every new chunk.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyTo copies src into w through a pooled buffer.
func copyTo(w io.Writer, src io.Reader) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	// The wrapper hides w's ReadFrom, which would allocate its own buffer.
	return io.CopyBuffer(struct{ io.Writer }{w}, src, *buf)
}
