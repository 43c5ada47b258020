package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestOffsiteDaemonKilledMidCopy: the runner daemon (`coffer-runner run`,
// the real binary) is killed with SIGKILL while it copies a backup to the
// offsite MinIO: nothing of the copy is listed offsite, and no object is
// in the offsite bucket (the killed multipart upload is not an object).
// The next daemon, once the dead one's lease lapses, completes the copy
// on its own, and the offsite copy verifies.
func TestOffsiteDaemonKilledMidCopy(t *testing.T) {
	src := pgDB(t, true)
	// Incompressible rows: the object spans several 5 MiB parts, and one
	// part in flight at a time makes the copy last long enough to kill.
	psql(t, src, "CREATE TABLE noise AS SELECT i, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 400000) AS i")
	token := "tok-" + randomName("")
	s := writeSetup(t, setupOpts{s3: true, offsite: "{partSizeMiB: 5, concurrency: 1}", apiToken: token,
		targets: []target{{name: "main", engine: "postgres", db: src}}})
	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	if size := list(t, s)[0].Targets[0].Size; size < 15<<20 {
		t.Fatalf("object of %d bytes: too small to be killed mid-copy", size)
	}
	key := "far/e2e/shop/" + id + "/main.pgdump.zst.age"

	// The daemon copies what the offsite copy lacks as soon as it holds
	// the lease.
	d := startDaemon(t, s, token, "--lease-ttl", "4s")
	parts := waitOffsiteParts(t, s, key, d.done)
	d.signal(syscall.SIGKILL)
	<-d.done
	t.Logf("killed the daemon after %d uploaded part(s) of %s", parts, key)
	if got := listFrom(t, s, "offsite"); len(got) != 0 {
		t.Fatalf("after the daemon was killed mid-copy the offsite copy lists %v", got)
	}
	if keys := backupKeys(t, s.offsite); len(keys) != 0 {
		t.Fatalf("after the daemon was killed mid-copy the offsite bucket holds %v", keys)
	}

	next := startDaemon(t, s, token, "--lease-ttl", "4s")
	next.waitFor(t, "the next daemon to complete the copy", 3*time.Minute, func() bool {
		var st struct {
			Offsite *struct {
				Backups int      `json:"backups"`
				Waiting []string `json:"waiting"`
				Error   string   `json:"error"`
			} `json:"offsite"`
		}
		return next.call(t, "GET", "/v1/status", nil, &st) == 200 && st.Offsite != nil && st.Offsite.Backups == 1 && len(st.Offsite.Waiting) == 0
	})
	if got := listFrom(t, s, "offsite"); len(got) != 1 || got[0].ID != id {
		t.Fatalf("offsite lists %+v, want %s", got, id)
	}
	if n := next.metric(t, "coffer_offsite_oldest_pending_age_seconds"); !strings.HasSuffix(n, " 0") {
		t.Fatalf("oldest pending age %q after the copy, want 0", n)
	}
	next.signal(syscall.SIGTERM)
	<-next.done
	time.Sleep(5 * time.Second) // whatever lease remains lapses
	mustRun(t, "verify", "-f", s.path, "--from", "offsite", "--backup", id)
}

// waitOffsiteParts waits until the multipart upload of key offsite has at
// least one part, and returns how many it has; exited closing first fails
// the test (the copy ended before it could be interrupted).
func waitOffsiteParts(t *testing.T, s *setup, key string, exited <-chan struct{}) int {
	t.Helper()
	c := s.offsite.Client()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatal("the copy finished, or the runner exited, before it could be killed")
		default:
		}
		ups, err := c.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s.offsite.Bucket), Prefix: aws.String(key)})
		if err == nil && len(ups.Uploads) > 0 {
			parts, err := c.ListParts(context.Background(), &s3.ListPartsInput{Bucket: aws.String(s.offsite.Bucket), Key: aws.String(key), UploadId: ups.Uploads[0].UploadId})
			if err == nil && len(parts.Parts) > 0 {
				return len(parts.Parts)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the copy never started uploading")
	return 0
}
