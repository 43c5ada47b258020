package e2e

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestOffsiteChunkedDaemonKilledMidCopy: the runner daemon is killed with
// SIGKILL while it copies the chunks of a format 2 backup to the offsite
// MinIO: the offsite copy then holds some chunks and no manifest, so it
// lists nothing. The next daemon completes the copy (the offsite chunk
// directory ends equal to the primary's), and the backup verifies and
// restores from the offsite copy alone.
func TestOffsiteChunkedDaemonKilledMidCopy(t *testing.T) {
	src := pgDB(t, false)
	// Incompressible rows: about 100 chunks, so the copy lasts long
	// enough to be killed between its first chunks and its manifest.
	psql(t, src, "CREATE TABLE noise AS SELECT i, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 1500000) AS i")
	sum := "SELECT count(*), md5(string_agg(encode(b, 'hex'), '' ORDER BY i)) FROM noise"
	want := psql(t, src, sum)
	token := "tok-" + randomName("")
	s := writeSetup(t, setupOpts{s3: true, chunked: true, offsite: "{}", apiToken: token,
		targets: []target{{name: "main", engine: "postgres", db: src}}})
	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	primary := chunkKeys(t, s.minio, "e2e/e2e/shop/chunks/")
	if len(primary) < 40 {
		t.Fatalf("the backup stored %d chunks: too few to be killed mid-copy", len(primary))
	}

	d := startDaemon(t, s, token, "--lease-ttl", "4s")
	copied := waitOffsiteChunks(t, s, d.done)
	d.signal(syscall.SIGKILL)
	<-d.done
	if got := listFrom(t, s, "offsite"); len(got) != 0 {
		t.Fatalf("after the daemon was killed mid-copy the offsite copy lists %v", got)
	}
	for _, k := range backupKeys(t, s.offsite) {
		if strings.HasSuffix(k, "/manifest.json") {
			t.Fatalf("after the daemon was killed mid-copy the offsite bucket holds %s", k)
		}
	}
	held := chunkKeys(t, s.offsite, "far/e2e/shop/chunks/")
	t.Logf("killed the daemon after %d of %d chunks were offsite (%d seen before the kill)", len(held), len(primary), copied)
	if len(held) >= len(primary) {
		t.Fatalf("every chunk was offsite when the daemon was killed: the test tested nothing")
	}

	next := startDaemon(t, s, token, "--lease-ttl", "4s")
	next.waitFor(t, "the next daemon to complete the copy", 3*time.Minute, func() bool {
		got := listFrom(t, s, "offsite")
		return len(got) == 1 && got[0].ID == id
	})
	if got := chunkKeys(t, s.offsite, "far/e2e/shop/chunks/"); !slices.Equal(got, primary) {
		t.Fatalf("offsite holds %d chunks after the copy, the primary %d", len(got), len(primary))
	}
	next.signal(syscall.SIGTERM)
	<-next.done
	time.Sleep(5 * time.Second) // whatever lease remains lapses
	mustRun(t, "verify", "-f", s.path, "--from", "offsite", "--backup", id)
	dst := pgDB(t, false)
	mustRun(t, "restore", "-f", s.path, "--from", "offsite", "--backup", id, "--target", "main", "--into-database", dst)
	if got := psql(t, dst, sum); got != want {
		t.Fatalf("restored from the offsite copy: %s, want %s", got, want)
	}
}

// chunkKeys are the keys under prefix in m's bucket, without the prefix,
// sorted.
func chunkKeys(t *testing.T, m *testutil.MinIO, prefix string) []string {
	t.Helper()
	var out []string
	for _, k := range bucketKeys(t, m) {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// waitOffsiteChunks waits until at least two chunks are offsite and
// returns how many; exited closing first fails the test.
func waitOffsiteChunks(t *testing.T, s *setup, exited <-chan struct{}) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatal("the runner exited before the copy could be interrupted")
		default:
		}
		if n := len(chunkKeys(t, s.offsite, "far/e2e/shop/chunks/")); n >= 2 {
			return n
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the copy never started")
	return 0
}
