//go:build linux

package filesystem_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/engine/filesystem"
)

// childDirEnv makes the test binary a backup process for the benchmark: it
// archives the directory named by the variable to stdout and exits.
const childDirEnv = "COFFER_BENCH_BACKUP_DIR"

// TestBenchChild is the child process of BenchmarkBackupVsTar; it does
// nothing in a normal test run.
func TestBenchChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("only the benchmark's child process runs this")
	}
	if _, err := filesystem.New().Backup(context.Background(), fsTarget("bench", dir), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// BenchmarkBackupVsTar measures, in the same run and on the same trees,
// Backup and `tar -cf - DIR`, each as a child process: wall time and peak
// RSS (measured by GNU time when /usr/bin/time exists). Each writes once to /dev/null (where GNU tar does not even read the
// files: it knows nobody reads the archive) and once into a pipe drained by
// this process, which is the fair comparison. The trees are made in
// $COFFER_BENCH_TREES when set (kept for the next run), else in a temporary
// directory. hack/bench-filesystem.sh runs it.
func BenchmarkBackupVsTar(b *testing.B) {
	gnutar, err := exec.LookPath("tar")
	if err != nil {
		b.Skip(err)
	}
	base := os.Getenv("COFFER_BENCH_TREES")
	if base == "" {
		base = b.TempDir()
	}
	trees := []struct {
		name string
		make func(b *testing.B, dir string)
	}{
		{"100k-small-files", smallFiles},
		{"4-large-files", largeFiles},
	}
	for _, tree := range trees {
		b.Run(tree.name, func(b *testing.B) {
			dir := filepath.Join(base, tree.name)
			if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
				_ = os.RemoveAll(dir)
				tree.make(b, dir)
				if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			tarCmd := func() *exec.Cmd { return exec.Command(gnutar, "-cf", "-", dir) }
			cofferCmd := func() *exec.Cmd {
				cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$")
				cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
				return cmd
			}
			// Warm the page cache: both read the same, warm tree.
			measure(b, tarCmd, true)
			const rounds = 3
			var res [4][]run
			for range rounds {
				res[0] = append(res[0], measure(b, tarCmd, false))
				res[1] = append(res[1], measure(b, cofferCmd, false))
				res[2] = append(res[2], measure(b, tarCmd, true))
				res[3] = append(res[3], measure(b, cofferCmd, true))
			}
			tarNull, cofNull, tarPipe, cofPipe := median(res[0]), median(res[1]), median(res[2]), median(res[3])
			b.ReportMetric(tarPipe.wall.Seconds(), "tar-pipe-s")
			b.ReportMetric(cofPipe.wall.Seconds(), "coffer-pipe-s")
			b.ReportMetric(cofPipe.wall.Seconds()/tarPipe.wall.Seconds(), "time-ratio-pipe")
			b.ReportMetric(cofNull.wall.Seconds()/tarNull.wall.Seconds(), "time-ratio-devnull")
			b.ReportMetric(cofPipe.cpu.Seconds()/tarPipe.cpu.Seconds(), "cpu-ratio-pipe")
			b.ReportMetric(float64(cofPipe.rss)/(1<<20), "coffer-MiB-RSS")
			b.ReportMetric(float64(tarPipe.rss)/(1<<20), "tar-MiB-RSS")
			b.Logf("%s (median of %d):", tree.name, rounds)
			for _, l := range []struct {
				what string
				r    run
			}{{"tar    > /dev/null", tarNull}, {"coffer > /dev/null", cofNull}, {"tar    | pipe     ", tarPipe}, {"coffer | pipe     ", cofPipe}} {
				b.Logf("  %s %7.3fs wall %7.3fs CPU  RSS %6.1f MiB  %d bytes", l.what, l.r.wall.Seconds(), l.r.cpu.Seconds(),
					float64(l.r.rss)/(1<<20), l.r.bytes)
			}
			b.Logf("  coffer/tar: %.2fx through a pipe (goal <= 1.2x), %.2fx to /dev/null; coffer RSS %.1f MiB (goal <= 128)",
				cofPipe.wall.Seconds()/tarPipe.wall.Seconds(), cofNull.wall.Seconds()/tarNull.wall.Seconds(), float64(cofPipe.rss)/(1<<20))
		})
	}
}

type run struct {
	wall  time.Duration
	cpu   time.Duration // user + system, of the child
	rss   int64         // bytes
	bytes int64
}

// gnuTime is GNU time, which measures a child's peak RSS truly: a child of
// this process inherits its RSS in the kernel's accounting (Go starts
// children with vfork), so its own rusage only gives an upper bound.
const gnuTime = "/usr/bin/time"

func measure(b *testing.B, mk func() *exec.Cmd, pipe bool) run {
	b.Helper()
	cmd := mk()
	rssFile := ""
	if _, err := os.Stat(gnuTime); err == nil {
		rssFile = filepath.Join(b.TempDir(), "rss")
		cmd.Args = append([]string{gnuTime, "-f", "%M", "-o", rssFile}, cmd.Args...)
		cmd.Path = gnuTime
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var out io.ReadCloser
	if pipe {
		var err error
		if out, err = cmd.StdoutPipe(); err != nil {
			b.Fatal(err)
		}
	} else {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer null.Close()
		cmd.Stdout = null
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var n int64
	if pipe {
		n, _ = io.Copy(io.Discard, out)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.String())
	}
	wall := time.Since(start)
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	if rssFile != "" {
		kib, err := os.ReadFile(rssFile)
		if err != nil {
			b.Fatal(err)
		}
		if rss, err = strconv.ParseInt(strings.TrimSpace(string(kib)), 10, 64); err != nil {
			b.Fatalf("GNU time wrote %q: %v", kib, err)
		}
		rss <<= 10
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return run{wall: wall, cpu: cpu, rss: rss, bytes: n}
}

func median(runs []run) run {
	slices.SortFunc(runs, func(x, y run) int { return int(x.wall - y.wall) })
	m := runs[len(runs)/2]
	for _, r := range runs {
		m.rss = max(m.rss, r.rss)
	}
	return m
}

// smallFiles makes 100,000 files of 0 to 8 KiB in 100 directories.
func smallFiles(b *testing.B, dir string) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	buf := make([]byte, 8<<10)
	_, _ = mrand.NewChaCha8([32]byte{3}).Read(buf)
	for d := range 100 {
		sub := filepath.Join(dir, fmt.Sprintf("dir%03d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 1000 {
			size := rng.IntN(len(buf))
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("file%04d.dat", f)), buf[:size], 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// largeFiles makes 4 files of 256 MiB of incompressible data.
func largeFiles(b *testing.B, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	rng := mrand.NewChaCha8([32]byte{4})
	for i := range 4 {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("large%d.bin", i)))
		if err != nil {
			b.Fatal(err)
		}
		for range 256 {
			_, _ = rng.Read(buf)
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
