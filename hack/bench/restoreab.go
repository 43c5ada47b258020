package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// benchRestoreAB compares two coffer-runner binaries (or wrapper scripts
// that exec one, e.g. with GOMEMLIMIT set) restoring the same format 2
// backup: into an existing empty database (checked as it streams into one
// transaction) and into a new one. The runs alternate (A, B, A, B, ...) so a busy moment of
// a shared machine hits both alike; it prints each case's median and B's
// ratios to A. Peak RSS is the figure least disturbed by other work. Both
// run from fresh copies written alike: how a binary's file was written
// (by the linker or by cp) moved its resident pages by 4 – 5 MiB.
func benchRestoreAB(binA, binB string, minBytes int64, rounds int) error {
	if err := ensureDatabase(restoreDB, minBytes); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "coffer-bench-restore-ab-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if binA, err = copyExecutable(binA, filepath.Join(work, "A-"+filepath.Base(binA))); err != nil {
		return err
	}
	if binB, err = copyExecutable(binB, filepath.Join(work, "B-"+filepath.Base(binB))); err != nil {
		return err
	}
	cfg, err := writeConfig(filepath.Join(work, "format2"), restoreDB, true)
	if err != nil {
		return err
	}
	if _, err := measure("", binA, "backup", "-f", cfg, "--log-level", "warn"); err != nil {
		return err
	}
	restore := func(bin string) func(string) []string {
		return func(dest string) []string {
			return []string{bin, "restore", "-f", cfg, "--backup", "latest", "--into-database", dest, "--log-level", "warn"}
		}
	}
	var cases []restoreCase
	for _, existing := range []bool{true, false} {
		for _, bin := range []struct{ label, path string }{{"A", binA}, {"B", binB}} {
			name := fmt.Sprintf("%s: format 2, new db: verify while restoring", bin.label)
			if existing {
				name = fmt.Sprintf("%s: format 2, existing db: checked as it streams", bin.label)
			}
			cases = append(cases, restoreCase{name: name, existing: existing, cmd: restore(bin.path)})
		}
	}
	results, err := measureRestores(cases, rounds)
	if err != nil {
		return err
	}
	fmt.Printf("A = %s\nB = %s\nmedian of %d round(s), alternating; CPU is user + system of the runner and its pg_restore\n", binA, binB, rounds)
	fmt.Printf("%-46s %8s %8s %10s %10s\n", "restore", "wall s", "CPU s", "peak RSS", "max RSS")
	for i, c := range cases {
		m := median(results[i])
		fmt.Printf("%-46s %8.2f %8.2f %10s %10s\n", c.name, m.wall.Seconds(), m.cpu.Seconds(), mib(m.maxRSS), mib(maxRSS(results[i])))
	}
	for i := 0; i+1 < len(cases); i += 2 {
		a, b := median(results[i]), median(results[i+1])
		fmt.Printf("B/A %-42s wall %.2f, CPU %.2f, peak RSS %.2f\n", cases[i].name[3:], ratio(b.wall, a.wall), ratio(b.cpu, a.cpu),
			float64(b.maxRSS)/float64(a.maxRSS))
	}
	return nil
}

// maxRSS is the highest peak RSS of the runs.
func maxRSS(runs []run) int64 {
	var n int64
	for _, r := range runs {
		n = max(n, r.maxRSS)
	}
	return n
}

// copyExecutable copies the executable src to dst and returns dst. It
// streams: a child's peak RSS counts the parent it was forked from, so the
// bench must not hold the binaries in memory.
func copyExecutable(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	return dst, out.Close()
}
