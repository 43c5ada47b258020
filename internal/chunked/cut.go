package chunked

import (
	"fmt"
	"io"

	chunkers "github.com/PlakarKorp/go-cdc-chunkers"
	_ "github.com/PlakarKorp/go-cdc-chunkers/chunkers/fastcdc" // registers fastcdc-v1.0.0
)

// ChunkerName is the chunker new backups record in their manifest's
// chunking block: go-cdc-chunkers' versioned FastCDC (gear hash with
// normalised chunking), its Gear table derived from the dedup key. Older
// format 2 backups record "restic/chunker"; how a backup was cut does not
// matter to reading it, since the manifest lists its chunks.
const ChunkerName = "fastcdc-v1.0.0"

// Chunk sizes: 512 KiB to 4 MiB, 1 MiB normal. FastCDC does not look for a
// cut in a chunk's first MinSize bytes and, past NormalSize, cuts more
// eagerly, so chunks rarely pass 2 MiB: a GB of pg_dump output is about
// 700 chunk objects (docs/format.md, docs/benchmarks.md).
const (
	MinSize    = 512 << 10
	NormalSize = 1 << 20
	MaxSize    = 4 << 20
	// MaxReadSize is the largest chunk a reader accepts: 8 MiB, the
	// maximum of restic/chunker, which cut format 2 backups before FastCDC.
	MaxReadSize = 8 << 20
)

// cutter cuts one stream into content-defined chunks.
type cutter struct {
	c    *chunkers.Chunker
	done bool
}

func newCutter(r io.Reader, k *Key) (*cutter, error) {
	c, err := chunkers.NewChunker(ChunkerName, r, &chunkers.ChunkerOpts{
		MinSize: MinSize, NormalSize: NormalSize, MaxSize: MaxSize, Key: k.gear,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the chunker %s: %w", ChunkerName, err)
	}
	return &cutter{c: c}, nil
}

// next returns the next chunk, or io.EOF after the last one. The chunk's
// bytes are the cutter's own until the next call: copy what must outlive
// it. An empty stream has no chunks.
func (c *cutter) next() ([]byte, error) {
	if c.done {
		return nil, io.EOF
	}
	data, err := c.c.Next()
	switch {
	case err == io.EOF:
		c.done = true
		if len(data) == 0 {
			return nil, io.EOF
		}
		return data, nil // the last chunk comes with io.EOF
	case err != nil:
		return nil, err
	}
	return data, nil
}
