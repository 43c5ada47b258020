package chunked

import (
	"bytes"
	"context"
	"testing"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// tempStore is a filesystem store in a fresh directory, closed after t.
func tempStore(t *testing.T) storage.Store {
	t.Helper()
	store, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// putChunk stores plain in clear under name as def's chunk, compressed at
// level, and returns its manifest entry.
func putChunk(t *testing.T, store storage.Store, def layout.Definition, level zframe.Level, name string, plain []byte) manifest.Chunk {
	t.Helper()
	enc, err := newEncoder(level, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.close()
	stored, err := enc.encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(context.Background(), def.ChunkKey(name, false), bytes.NewReader(stored)); err != nil {
		t.Fatal(err)
	}
	return manifest.Chunk{Hash: name, Size: int64(len(plain)), StoredSize: int64(len(stored))}
}
