package e2e

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestOffsite: with two MinIO servers, one per site. A runner killed in
// the middle of an offsite copy leaves nothing visible offsite and the
// next run completes the copy; with the primary storage wiped, restore
// --from offsite restores equal data into real PostgreSQL; a byte flipped
// offsite is caught by verify --from offsite.
func TestOffsite(t *testing.T) {
	src := pgDB(t, true)
	// Incompressible rows, so the object spans several 5 MiB parts and
	// the copy lasts long enough to be killed in the middle.
	psql(t, src, "CREATE TABLE noise AS SELECT i, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 400000) AS i")
	s := writeSetup(t, setupOpts{s3: true, offsite: "{partSizeMiB: 5, concurrency: 1}",
		targets: []target{{name: "main", engine: "postgres", db: src}}})
	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	object := list(t, s)[0].Targets[0]
	if object.Size < 15<<20 {
		t.Fatalf("object of %d bytes: too small to be killed mid-copy", object.Size)
	}
	key := "far/e2e/shop/" + id + "/main.pgdump.zst.age"

	killMidCopy(t, s, key)
	if got := listFrom(t, s, "offsite"); len(got) != 0 {
		t.Fatalf("after a killed copy the offsite copy lists %v", got)
	}
	if keys := backupKeys(t, s.offsite); len(keys) != 0 {
		t.Fatalf("after a killed copy the offsite bucket holds %v", keys)
	}
	time.Sleep(3 * time.Second) // the killed runner's lease lapses
	out := mustRun(t, "offsite", "-f", s.path)
	if !strings.Contains(out.stdout, "copied   "+id) {
		t.Fatalf("the next run did not copy %s:\n%s", id, out.stdout)
	}
	s.assertNoSecrets(t, "offsite output", out.stdout+out.stderr)
	if got := listFrom(t, s, "offsite"); len(got) != 1 || got[0].ID != id {
		t.Fatalf("offsite lists %+v", got)
	}

	// The primary site is lost.
	for _, k := range bucketKeys(t, s.minio) {
		if _, err := s.minio.Client().DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(s.minio.Bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("the wiped primary lists %+v", got)
	}
	dst := randomName("coffer_e2e_offsite_")
	t.Cleanup(func() { dropPG(dst) })
	mustRun(t, "restore", "-f", s.path, "--from", "offsite", "--backup", "latest", "--into-database", dst)
	if got, want := pgFingerprint(t, dst), pgFingerprint(t, src); got != want {
		t.Fatalf("restored from offsite differs:\n--- original\n%s\n--- restored\n%s", want, got)
	}

	mustRun(t, "verify", "-f", s.path, "--from", "offsite", "--backup", id)
	flipObjectByte(t, s.offsite, key)
	r := runner(t, nil, "verify", "-f", s.path, "--from", "offsite", "--backup", id)
	if r.code == 0 || !strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stderr, "integrity check failed") {
		t.Fatalf("verify --from offsite of a flipped byte: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// killMidCopy starts the offsite copy and kills it (SIGKILL) once the
// object's multipart upload has begun offsite and before it completes.
func killMidCopy(t *testing.T, s *setup, key string) {
	t.Helper()
	cmd := exec.Command(runnerBin, "offsite", "-f", s.path, "--no-prune", "--lease-ttl", "3s")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		if t.Failed() {
			cmd.Process.Kill()
			t.Logf("offsite output:\n%s", out.String())
		}
	}()
	n := waitOffsiteParts(t, s, key, exited)
	cmd.Process.Kill()
	<-exited
	t.Logf("killed the copy after %d uploaded part(s)", n)
}

func listFrom(t *testing.T, s *setup, from string) []listed {
	t.Helper()
	return listArgs(t, "list", "-f", s.path, "-o", "json", "--from", from)
}

func bucketKeys(t *testing.T, m *testutil.MinIO) []string {
	t.Helper()
	out, err := m.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(m.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys
}

// backupKeys are the bucket's keys but the markers that say whose storage
// it is (storage-id.json, offsite-owner.json): what a backup put there.
func backupKeys(t *testing.T, m *testutil.MinIO) []string {
	t.Helper()
	var keys []string
	for _, k := range bucketKeys(t, m) {
		if !strings.HasSuffix(k, "/storage-id.json") && !strings.HasSuffix(k, "/offsite-owner.json") {
			keys = append(keys, k)
		}
	}
	return keys
}

func flipObjectByte(t *testing.T, m *testutil.MinIO, key string) {
	t.Helper()
	ctx := context.Background()
	got, err := m.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/3] ^= 0x01
	if _, err := m.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}
