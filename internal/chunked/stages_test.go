package chunked

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// BenchmarkStages measures each stage of a first backup's write path on
// its own, per byte of dump, to tell where format 2's CPU goes (the
// figures are in docs/benchmarks.md). COFFER_BENCH_DUMP names a dump file
// to use; without it, 32 MiB of generated rows.
func BenchmarkStages(b *testing.B) {
	data := stageDump(b)
	key, err := NewKey([]byte("0123456789abcdef0123456789abcdef-bench-key"))
	if err != nil {
		b.Fatal(err)
	}
	chunks := cutAll(b, data, key, true)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	frames := make([][]byte, len(chunks))
	for i, c := range chunks {
		frames[i] = zw.EncodeAll(c, nil)
	}
	stage := func(name string, f func()) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			stop := CPUPerGB(b, int64(len(data)))
			for b.Loop() {
				f()
			}
			stop()
		})
	}
	stage("chunker", func() { cutAll(b, data, key, false) })
	stage("chunk-names", func() {
		for _, c := range chunks {
			key.Name(c)
		}
	})
	stage("plain-sha256", func() { sha256.Sum256(data) })
	stage("zstd-fastest", func() {
		for _, c := range chunks {
			zw.EncodeAll(c, make([]byte, 0, len(c)/2+64))
		}
	})
	stage("age", func() {
		for _, f := range frames {
			var out bytes.Buffer
			aw, err := age.Encrypt(&out, id.Recipient())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := aw.Write(f); err != nil {
				b.Fatal(err)
			}
			if err := aw.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// CPUPerGB starts counting the process's CPU time (user and system) and
// returns the function that reports it per GB of n bytes a loop, as
// "cpu-s/GB": on a shared machine wall time per op says little, CPU time
// stays close to the same.
func CPUPerGB(b *testing.B, n int64) (stop func()) {
	start := cpuTime(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric((cpuTime(b)-start).Seconds()/float64(b.N)/(float64(n)/1e9), "cpu-s/GB")
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func stageDump(b *testing.B) []byte {
	if path := os.Getenv("COFFER_BENCH_DUMP"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatalf("COFFER_BENCH_DUMP: %v", err)
		}
		return data
	}
	var buf bytes.Buffer
	for i := 0; buf.Len() < 32<<20; i++ {
		buf.WriteString("INSERT INTO events VALUES (")
		buf.Write(sha256.New().Sum([]byte{byte(i), byte(i >> 8), byte(i >> 16)}))
		buf.WriteString(", 'some row text that compresses');\n")
	}
	return buf.Bytes()
}

// cutAll cuts data as a backup does and returns the chunks if keep.
func cutAll(b testing.TB, data []byte, key *Key, keep bool) [][]byte {
	return cutFrom(b, bytes.NewReader(data), key, keep)
}

// cutFrom cuts what r reads as a backup does and returns the chunks if keep.
func cutFrom(b testing.TB, r io.Reader, key *Key, keep bool) [][]byte {
	b.Helper()
	c, err := newCutter(r, key)
	if err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	for {
		ch, err := c.next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			b.Fatal(err)
		}
		if keep {
			out = append(out, bytes.Clone(ch))
		}
	}
}

// BenchmarkDedupNextDay cuts two dumps of the same database a "day" apart
// (COFFER_BENCH_DUMP, then COFFER_BENCH_DUMP2) and reports what the second
// adds: the plain bytes of its chunks the first did not have, as a share of
// the dump, and the chunk count per GB. It is how the chunk sizes in
// docs/format.md were chosen; without both files it is skipped.
func BenchmarkDedupNextDay(b *testing.B) {
	day2 := os.Getenv("COFFER_BENCH_DUMP2")
	if day2 == "" || os.Getenv("COFFER_BENCH_DUMP") == "" {
		b.Skip("needs COFFER_BENCH_DUMP and COFFER_BENCH_DUMP2")
	}
	first := stageDump(b)
	second, err := os.ReadFile(day2)
	if err != nil {
		b.Fatalf("COFFER_BENCH_DUMP2: %v", err)
	}
	key, err := NewKey([]byte("0123456789abcdef0123456789abcdef-bench-key"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		seen := map[[32]byte]bool{}
		chunks := cutAll(b, first, key, true)
		for _, c := range chunks {
			seen[sha256.Sum256(c)] = true
		}
		var added int64
		next := cutAll(b, second, key, true)
		for _, c := range next {
			if !seen[sha256.Sum256(c)] {
				added += int64(len(c))
			}
		}
		b.ReportMetric(float64(len(chunks))/(float64(len(first))/1e9), "chunks/GB")
		b.ReportMetric(float64(added)/float64(len(second))*100, "%-new-day2")
	}
}
