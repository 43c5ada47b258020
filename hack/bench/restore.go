package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// restoreDB is the restore benchmark's source database, generated once.
const restoreDB = "coffer_bench_restore"

// restoreCase is one way of restoring the same data, measured each round.
type restoreCase struct {
	name string
	// existing: the destination is created (empty) before the timed run,
	// so coffer-runner verifies the backup first, as every restore did
	// before it verified while restoring into a new database.
	existing bool
	// cmd is the command, given the destination database.
	cmd func(dest string) []string
}

// benchRestore compares restores of one PostgreSQL database with
// pg_restore from a local -Fc file: coffer-runner from filesystem storage
// (zstd + age), format 1 and format 2, into an existing empty database
// (format 1: verify pass, then restore; format 2: checked as it streams
// into one transaction) and into a new one (checked while it restores). Each case runs rounds times, interleaved; the median is shown.
func benchRestore(runnerBin string, minBytes int64, rounds int) error {
	if err := ensureDatabase(restoreDB, minBytes); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "coffer-bench-restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	dump := filepath.Join(work, "bench.pgdump")
	if _, err := measure("", "pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-f", dump, restoreDB); err != nil {
		return err
	}
	// The runner's dumps are uncompressed (-Z0, so that chunks deduplicate):
	// pg_restore of such a file is what the runner's restore can be.
	dumpZ0 := filepath.Join(work, "bench-z0.pgdump")
	if _, err := measure("", "pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-Z0", "-f", dumpZ0, restoreDB); err != nil {
		return err
	}
	cfgs := map[int]string{}
	for _, format := range []int{1, 2} {
		dir := filepath.Join(work, fmt.Sprintf("format%d", format))
		if cfgs[format], err = writeConfig(dir, restoreDB, format == 2); err != nil {
			return err
		}
		if _, err := measure("", runnerBin, "backup", "-f", cfgs[format], "--log-level", "warn"); err != nil {
			return err
		}
	}
	size := psqlValue("postgres", fmt.Sprintf("SELECT pg_database_size('%s')", restoreDB))
	fmt.Printf("database %s: %s bytes on disk; -Fc dump %d bytes\n\n", restoreDB, size, fileSize(dump))

	pgRestore := func(file string, extra ...string) func(string) []string {
		return func(dest string) []string {
			return append(append([]string{"pg_restore", "-h", "127.0.0.1", "-U", "postgres", "-d", dest, "--exit-on-error"}, extra...), file)
		}
	}
	runnerRestore := func(format int) func(string) []string {
		return func(dest string) []string {
			return []string{runnerBin, "restore", "-f", cfgs[format], "--backup", "latest", "--into-database", dest, "--log-level", "warn"}
		}
	}
	createAndRestore := func(dest string) []string {
		return []string{"sh", "-c", `createdb -h 127.0.0.1 -U postgres -T template0 "$1" && shift && exec "$@"`,
			"sh", dest, "pg_restore", "-h", "127.0.0.1", "-U", "postgres", "-d", dest, "--exit-on-error", dump}
	}
	cases := []restoreCase{
		{name: "pg_restore from the local -Fc file (baseline)", existing: true, cmd: pgRestore(dump)},
		{name: "createdb + pg_restore (a new database, too)", cmd: createAndRestore},
		{name: "pg_restore --single-transaction (as the runner)", existing: true, cmd: pgRestore(dump, "--single-transaction")},
		{name: "the same, of a -Z0 file (the runner's dump)", existing: true, cmd: pgRestore(dumpZ0, "--single-transaction")},
		{name: "coffer format 1, existing db: verify + restore", existing: true, cmd: runnerRestore(1)},
		{name: "coffer format 1, new db: verify while restoring", cmd: runnerRestore(1)},
		{name: "coffer format 2, existing db: checked as it streams", existing: true, cmd: runnerRestore(2)},
		{name: "coffer format 2, new db: verify while restoring", cmd: runnerRestore(2)},
	}
	results, err := measureRestores(cases, rounds)
	if err != nil {
		return err
	}
	printRestores(cases, results, rounds)
	return nil
}

// measureRestores runs every case rounds times, interleaved so a busy
// moment of the machine hits them alike; each run's database is dropped
// after it.
func measureRestores(cases []restoreCase, rounds int) ([][]run, error) {
	results := make([][]run, len(cases))
	for round := 0; round < rounds; round++ {
		// Each round starts one case later: a case's place in the round
		// (what the server did just before) moved its time by ±10 %.
		for k := range cases {
			i := (k + round) % len(cases)
			c := cases[i]
			dest := fmt.Sprintf("%s_r%d", restoreDB, i)
			psqlValue("postgres", "DROP DATABASE IF EXISTS "+dest+" WITH (FORCE)")
			if c.existing {
				psqlValue("postgres", "CREATE DATABASE "+dest)
			}
			settle()
			args := c.cmd(dest)
			r, err := measure("", args[0], args[1:]...)
			psqlValue("postgres", "DROP DATABASE IF EXISTS "+dest+" WITH (FORCE)")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			results[i] = append(results[i], r)
		}
	}
	return results, nil
}

// settle starts each timed restore from the same state: the server's dirty
// buffers written (CHECKPOINT) and the kernel's dirty pages flushed (sync).
// A restore writes its data and WAL, some 2 × the dump, which the kernel
// otherwise writes back during whichever case comes next.
func settle() {
	psqlValue("postgres", "CHECKPOINT")
	if out, err := exec.Command("sync").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "sync: %v: %s\n", err, out)
		os.Exit(1)
	}
}

func printRestores(cases []restoreCase, results [][]run, rounds int) {
	base := median(results[0])
	fmt.Printf("median of %d round(s); CPU is user + system of the command and its children (not the server's)\n", rounds)
	fmt.Printf("%-50s %9s %7s %9s %7s %10s\n", "restore", "wall s", "ratio", "CPU s", "ratio", "peak RSS")
	med := make([]run, len(cases))
	for i, c := range cases {
		med[i] = median(results[i])
		fmt.Printf("%-50s %9.2f %7.2f %9.2f %7.2f %10s\n", c.name, med[i].wall.Seconds(), ratio(med[i].wall, base.wall),
			med[i].cpu.Seconds(), ratio(med[i].cpu, base.cpu), mib(med[i].maxRSS))
	}
	fmt.Println()
	// cases: the baseline, createdb + pg_restore, --single-transaction of
	// the -Fc and of the -Z0 file, then each format's existing and new.
	const withCreate, ofZ0, firstRunner = 1, 3, 4
	for i := firstRunner; i+1 < len(cases); i += 2 {
		fmt.Printf("format %d: restore wall %.2f × pg_restore into an existing database (%.2f × pg_restore --single-transaction of the -Z0 file), "+
			"%.2f × into a new one (%.2f × createdb + pg_restore); goal ≤ 1.00\n",
			(i-firstRunner)/2+1, ratio(med[i].wall, base.wall), ratio(med[i].wall, med[ofZ0].wall),
			ratio(med[i+1].wall, base.wall), ratio(med[i+1].wall, med[withCreate].wall))
	}
	// On a shared machine a slow round is the machine's, not the command's:
	// the fastest round of each is the other view, less moved by noise.
	best := make([]run, len(cases))
	for i := range cases {
		best[i] = fastest(results[i])
	}
	for i := firstRunner; i+1 < len(cases); i += 2 {
		fmt.Printf("format %d, fastest round of each: %.2f × pg_restore into an existing database, %.2f × into a new one (%.2f × createdb + pg_restore)\n",
			(i-firstRunner)/2+1, ratio(best[i].wall, best[0].wall), ratio(best[i+1].wall, best[0].wall), ratio(best[i+1].wall, best[withCreate].wall))
	}
}

// fastest is the run of least wall time.
func fastest(runs []run) run {
	best := runs[0]
	for _, r := range runs[1:] {
		if r.wall < best.wall {
			best = r
		}
	}
	return best
}

// median is the run of median wall time.
func median(runs []run) run {
	s := append([]run(nil), runs...)
	sort.Slice(s, func(i, j int) bool { return s[i].wall < s[j].wall })
	return s[len(s)/2]
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }
