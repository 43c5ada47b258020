// Command bench measures coffer-runner against the PostgreSQL tools on a
// generated database of at least 1 GB, all in one run so the ratios hold on
// a shared, noisy machine. It prints one table; `make bench` runs it.
//
//	go run ./hack/bench [-gb 1] [-runner bin/coffer-runner]
package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
)

const db = "coffer_bench"

// run is one measured command.
type run struct {
	wall   time.Duration
	maxRSS int64 // bytes
	// cpu is user + system time of the command and the children it waited
	// for (coffer-runner's pg_restore, for one).
	cpu time.Duration
}

func main() {
	gb := flag.Float64("gb", 1, "minimum size of the generated database, in GB")
	runnerBin := flag.String("runner", "bin/coffer-runner", "coffer-runner binary")
	generateOnly := flag.Bool("generate-only", false, "only make sure the database exists")
	daemonSeconds := flag.Int("daemon-seconds", 0, "instead: measure an idle runner daemon for this many seconds")
	restoreMB := flag.Int("restore-mb", 0, "instead: compare restores of a database of this many MB with pg_restore (hack/bench-restore.sh)")
	rounds := flag.Int("rounds", 1, "with -restore-mb: measure each restore this many times")
	compare := flag.String("compare", "", "with -restore-mb: only format 2, this binary (A) against -runner (B), alternating")
	flag.Parse()
	if *restoreMB > 0 && *compare != "" {
		a, _ := filepath.Abs(*compare)
		b, _ := filepath.Abs(*runnerBin)
		if err := benchRestoreAB(a, b, int64(*restoreMB)*1e6, *rounds); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *restoreMB > 0 {
		bin, _ := filepath.Abs(*runnerBin)
		if err := benchRestore(bin, int64(*restoreMB)*1e6, *rounds); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *daemonSeconds > 0 {
		bin, _ := filepath.Abs(*runnerBin)
		if err := benchDaemon(bin, *daemonSeconds); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *generateOnly {
		if err := ensureDatabase(db, int64(*gb*1e9)); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := bench(*gb, *runnerBin); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func bench(gb float64, runnerBin string) error {
	runnerBin, _ = filepath.Abs(runnerBin)
	if err := ensureDatabase(db, int64(gb*1e9)); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "coffer-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	cfg, err := writeConfig(work, db, false)
	if err != nil {
		return err
	}
	size := psqlValue("postgres", fmt.Sprintf("SELECT pg_database_size('%s')", db))
	fmt.Printf("database %s: %s bytes on disk\n\n", db, size)

	plain, err := measure("", "sh", "-c", "pg_dump -h 127.0.0.1 -U postgres -Fc -Z0 "+db+" > /dev/null")
	if err != nil {
		return err
	}
	gzFile := filepath.Join(work, "bench.pgdump")
	gz, err := measure("", "pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-f", gzFile, db)
	if err != nil {
		return err
	}
	backup, err := measure("", runnerBin, "backup", "-f", cfg, "--log-level", "warn")
	if err != nil {
		return err
	}
	stored, err := dirSize(filepath.Join(work, "storage"))
	if err != nil {
		return err
	}
	gzSize := fileSize(gzFile)

	for _, d := range []string{db + "_r1", db + "_r2"} {
		psqlValue("postgres", "DROP DATABASE IF EXISTS "+d+" WITH (FORCE)")
	}
	psqlValue("postgres", "CREATE DATABASE "+db+"_r1")
	pgRestore, err := measure("", "pg_restore", "-h", "127.0.0.1", "-U", "postgres", "-d", db+"_r1", "--exit-on-error", gzFile)
	if err != nil {
		return err
	}
	restore, err := measure("", runnerBin, "restore", "-f", cfg, "--backup", "latest", "--into-database", db+"_r2", "--log-level", "warn")
	if err != nil {
		return err
	}
	verify, err := measure("", runnerBin, "verify", "-f", cfg, "--backup", "latest")
	if err != nil {
		return err
	}
	for _, d := range []string{db + "_r1", db + "_r2"} {
		psqlValue("postgres", "DROP DATABASE IF EXISTS "+d+" WITH (FORCE)")
	}

	fmt.Printf("%-44s %10s %10s %12s\n", "run", "seconds", "ratio", "peak RSS")
	row := func(name string, r run, base run) {
		fmt.Printf("%-44s %10.2f %10.2f %12s\n", name, r.wall.Seconds(), r.wall.Seconds()/base.wall.Seconds(), mib(r.maxRSS))
	}
	row("pg_dump -Fc -Z0 > /dev/null (D, baseline)", plain, plain)
	row("pg_dump -Fc (gzip) to a local file", gz, plain)
	row("coffer-runner backup (zstd + age, file)", backup, plain)
	row("pg_restore from the local -Fc file", pgRestore, pgRestore)
	row("coffer-runner restore (new db, one read)", restore, pgRestore)
	row("coffer-runner verify", verify, plain)
	fmt.Println()
	fmt.Printf("backup rate vs source rate D: %.2f × D (goal ≥ 0.90)\n", plain.wall.Seconds()/backup.wall.Seconds())
	fmt.Printf("stored size: coffer %d bytes, pg_dump -Fc %d bytes: %.2f × (goal ≤ 1.00)\n", stored, gzSize, float64(stored)/float64(gzSize))
	fmt.Printf("runner peak RSS: backup %s, restore %s, verify %s (goal ≤ 128 MiB)\n", mib(backup.maxRSS), mib(restore.maxRSS), mib(verify.maxRSS))
	return nil
}

// measure runs a command and returns its wall time and peak RSS.
func measure(dir string, name string, args ...string) (run, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return run{}, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	r := run{wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss * 1024
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return r, nil
}

// ensureDatabase makes sure db exists with at least minBytes on disk,
// generating it once (later runs reuse it).
func ensureDatabase(db string, minBytes int64) error {
	exists := psqlValue("postgres", fmt.Sprintf("SELECT count(*) FROM pg_database WHERE datname = '%s'", db)) == "1"
	if exists {
		n, _ := strconv.ParseInt(psqlValue("postgres", fmt.Sprintf("SELECT pg_database_size('%s')", db)), 10, 64)
		if n >= minBytes {
			return nil
		}
		psqlValue("postgres", "DROP DATABASE "+db+" WITH (FORCE)")
	}
	fmt.Printf("generating %s (≥ %.0f MB; once, kept for later runs)...\n", db, float64(minBytes)/1e6)
	psqlValue("postgres", "CREATE DATABASE "+db)
	// Rows of mixed content: timestamps, JSON, hex digests, repetitive text and numbers.
	rows := minBytes / 240
	const batch = 1_000_000
	psqlValue(db, `CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, kind text NOT NULL,
		payload jsonb NOT NULL, body text NOT NULL, amount numeric(12,2))`)
	for from := int64(1); from <= rows; from += batch {
		to := min(from+batch-1, rows)
		q := fmt.Sprintf(`INSERT INTO events SELECT i, '2026-01-01'::timestamptz + i * interval '1 second',
			(ARRAY['click','view','buy','refund'])[1 + i %% 4],
			jsonb_build_object('user', i %% 100000, 'score', (i * 7919) %% 1000, 'tag', md5((i %% 5000)::text)),
			md5(i::text) || ' ' || repeat(chr(97 + (i %% 26)::int), 20 + (i %% 50)::int) || ' ' || md5((i * 31)::text),
			(i %% 100000) / 100.0
			FROM generate_series(%d::bigint, %d::bigint) AS i`, from, to)
		if out, err := exec.Command("psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", q).CombinedOutput(); err != nil {
			return fmt.Errorf("generating rows: %w: %s", err, out)
		}
	}
	psqlValue(db, "VACUUM ANALYZE events")
	return nil
}

func psqlValue(database, q string) string {
	out, err := exec.Command("psql", "-X", "-At", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-c", q).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "psql %q: %v: %s\n", q, err, out)
		os.Exit(1)
	}
	return strings.TrimSpace(string(out))
}

// writeConfig writes a runner config backing up db into work/storage,
// encrypted with a fresh age key, in storage format 2 when chunked.
func writeConfig(work, db string, chunked bool) (string, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	format, dedup := "", ""
	if chunked {
		format = "\n  chunked: {keySecretRef: {name: dedup, key: key}}"
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return "", err
		}
		dedup = fmt.Sprintf("---\napiVersion: v1\nkind: Secret\nmetadata: {name: dedup}\nstringData: {key: %x}\n", key)
	}
	cfg := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: bench}
spec:
  filesystem: {path: %q}
  encryption: {recipients: [%q], identitySecretRef: {name: age, key: identity}}%s
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: bench, namespace: bench}
spec:
  storageRef: {name: bench}
  targets:
  - name: main
    postgres: {host: 127.0.0.1, port: 5432, database: %s, user: postgres}
---
apiVersion: v1
kind: Secret
metadata: {name: age}
stringData: {identity: %q}
%s`, filepath.Join(work, "storage"), id.Recipient().String(), format, db, id.String(), dedup)
	if err := os.MkdirAll(filepath.Join(work, "storage"), 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(work, "coffer.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && !strings.HasSuffix(info.Name(), ".json") {
			n += info.Size()
		}
		return err
	})
	return n, err
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
