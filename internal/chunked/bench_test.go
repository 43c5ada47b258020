package chunked_test

import (
	"context"
	"os"
	"testing"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/chunked"
	"github.com/coffer-dev/coffer/internal/zframe"
)

// benchDump is the stream the benchmarks back up: the file named by
// COFFER_BENCH_DUMP (e.g. a `pg_dump -Fc -Z0` of the dedup bench's
// database, which is what the CPU figures in docs/benchmarks.md used),
// else 64 MiB of generated rows.
func benchDump(b *testing.B) []byte {
	b.Helper()
	if path := os.Getenv("COFFER_BENCH_DUMP"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatalf("COFFER_BENCH_DUMP: %v", err)
		}
		return data
	}
	return dumpLike(7, 64<<20)
}

// BenchmarkFirstBackup is a first backup (every chunk new) of the dump into
// a local directory with one age recipient: the CPU per byte of format 2's
// write path apart from the database's own dump.
func BenchmarkFirstBackup(b *testing.B) {
	data := benchDump(b)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	key := newKey(b)
	for _, level := range []zframe.Level{zframe.Fastest, zframe.None} {
		b.Run(level.String(), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			// CPU of the setup (a new store each round) counts too; it is small.
			stop := chunked.CPUPerGB(b, int64(len(data)))
			defer stop()
			for b.Loop() {
				b.StopTimer()
				store, _ := openStore(b)
				known, err := chunked.ListKnown(context.Background(), store, def, true)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				_, err = chunked.Backup(context.Background(), store, def, known,
					chunked.Options{Key: key, Recipients: []age.Recipient{id.Recipient()}, Level: level}, dumpOf(data))
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnchangedBackup backs up the same dump again: every chunk is
// known, so this is chunking and naming alone.
func BenchmarkUnchangedBackup(b *testing.B) {
	data := benchDump(b)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	key := newKey(b)
	store, _ := openStore(b)
	opts := chunked.Options{Key: key, Recipients: []age.Recipient{id.Recipient()}}
	backup := func() chunked.Result {
		known, err := chunked.ListKnown(context.Background(), store, def, true)
		if err != nil {
			b.Fatal(err)
		}
		res, err := chunked.Backup(context.Background(), store, def, known, opts, dumpOf(data))
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	backup()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	stop := chunked.CPUPerGB(b, int64(len(data)))
	defer stop()
	for b.Loop() {
		if res := backup(); res.NewChunks != 0 {
			b.Fatalf("an unchanged dump stored %d new chunks", res.NewChunks)
		}
	}
}
