package e2e

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestChunkedSurvivesSIGKILL kills coffer-runner backup and prune (the
// chunk sweep) with SIGKILL at random points, over and over, on a format 2
// storage whose database changes between runs, and after every kill
// verifies every committed backup. At the end a complete prune leaves no
// chunk that no backup references, and the newest backup restores.
func TestChunkedSurvivesSIGKILL(t *testing.T) {
	const rounds = 8
	pg := pgDB(t, false)
	psql(t, pg, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, md5(i::text) || md5((i+1)::text) FROM generate_series(1, 300000) AS i")
	s := writeSetup(t, setupOpts{chunked: true, schedule: "0 0 1 1 *", retention: "{manual: 2}",
		targets: []target{{name: "main", engine: "postgres", db: pg}}})
	defDir := filepath.Join(s.storageDir, "e2e", "shop")
	prune := []string{"prune", "-f", s.path, "--orphan-grace", "1ms", "--in-flight-window", "1ms"}

	start := time.Now()
	mustRun(t, "backup", "-f", s.path)
	took := time.Since(start)
	start = time.Now()
	mustRun(t, prune...)
	pruneTook := time.Since(start)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	killedBackups, killedPrunes, swept := 0, 0, 0
	for round := range rounds {
		psql(t, pg, "UPDATE t SET v = md5(v) WHERE id % 100 = "+itoa(round)+"; INSERT INTO t SELECT i, 'r"+itoa(round)+"' FROM generate_series(300001+"+itoa(round*1000)+", 300000+"+itoa((round+1)*1000)+") AS i")
		if killAt(t, rng, took*3/2, "backup", "-f", s.path) {
			killedBackups++
		}
		dropStaleLocks(t, defDir)
		verifyCommitted(t, s, defDir, "after the backup of round "+itoa(round))
		before := len(chunkNames(t, defDir))
		if killAt(t, rng, pruneTook*3/2, prune...) {
			killedPrunes++
		}
		dropStaleLocks(t, defDir)
		if after := len(chunkNames(t, defDir)); after < before {
			swept += before - after
		}
		verifyCommitted(t, s, defDir, "after the prune of round "+itoa(round))
	}
	t.Logf("%d rounds: %d backups (%v each) and %d prunes (%v each) killed, %d chunks swept", rounds, killedBackups, took, killedPrunes, pruneTook, swept)
	if killedBackups == 0 || killedPrunes == 0 {
		t.Fatalf("the random kills never landed during a run (%d backups, %d prunes killed): the test tested nothing", killedBackups, killedPrunes)
	}

	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	mustRun(t, prune...)
	referenced := map[string]bool{}
	for _, m := range committed(t, defDir) {
		for _, h := range m.hashes() {
			referenced[h] = true
		}
	}
	stored := chunkNames(t, defDir)
	for h := range referenced {
		if !stored[h] {
			t.Errorf("chunk %s is referenced but not stored", h)
		}
	}
	for h := range stored {
		if !referenced[h] {
			t.Errorf("chunk %s is stored but no backup references it after a complete prune", h)
		}
	}
	dst := randomName("coffer_e2e_crash_")
	t.Cleanup(func() { dropPG(dst) })
	psql(t, "postgres", "CREATE DATABASE "+dst)
	mustRun(t, "restore", "-f", s.path, "--backup", id, "--target", "main", "--into-database", dst)
	if got, want := pgFingerprint(t, dst), pgFingerprint(t, pg); got != want {
		t.Fatalf("the newest backup restores differently:\n%s\n---\n%s", want, got)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// killAt runs coffer-runner with args and sends SIGKILL after a random
// delay below limit; it reports whether the process was still running.
func killAt(t *testing.T, rng *rand.Rand, limit time.Duration, args ...string) bool {
	t.Helper()
	cmd := exec.Command(runnerBin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
		return false
	case <-time.After(time.Duration(rng.Int64N(int64(limit)))):
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	return true
}

// dropStaleLocks removes the lease of a killed process, which would
// otherwise block the next command until its TTL ran out.
func dropStaleLocks(t *testing.T, defDir string) {
	t.Helper()
	locks, _ := filepath.Glob(filepath.Join(defDir, "lock-*"))
	for _, l := range locks {
		if err := os.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
}

type committedBackup struct {
	ID      string `json:"id"`
	Targets []struct {
		Chunks []struct{ Hash string } `json:"chunks"`
	} `json:"targets"`
}

func (m committedBackup) hashes() []string {
	var out []string
	for _, t := range m.Targets {
		for _, c := range t.Chunks {
			out = append(out, c.Hash)
		}
	}
	return out
}

func committed(t *testing.T, defDir string) []committedBackup {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(defDir, "*", "manifest.json"))
	var out []committedBackup
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m committedBackup
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, m)
	}
	return out
}

func chunkNames(t *testing.T, defDir string) map[string]bool {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(defDir, "chunks", "*.zst.age"))
	out := map[string]bool{}
	for _, p := range paths {
		out[strings.TrimSuffix(filepath.Base(p), ".zst.age")] = true
	}
	return out
}

// verifyCommitted runs coffer-runner verify on every committed backup.
func verifyCommitted(t *testing.T, s *setup, defDir, when string) {
	t.Helper()
	for _, m := range committed(t, defDir) {
		r := runner(t, nil, "verify", "-f", s.path, "--backup", m.ID)
		if r.code != 0 {
			t.Fatalf("%s: backup %s does not verify: exit %d\n%s%s", when, m.ID, r.code, r.stdout, r.stderr)
		}
	}
}
