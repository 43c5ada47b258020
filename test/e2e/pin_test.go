package e2e

import (
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pinnedBackup is the part of the API's backup record these tests read.
type pinnedBackup struct {
	ID      string   `json:"id"`
	Status  string   `json:"status"`
	Labels  []string `json:"labels"`
	Trigger string   `json:"trigger"`
}

// TestPinThroughAPIAndCLI: a backup pinned at creation through the API, a
// one-shot `label` refused while the daemon holds the lease (naming the
// holder), pin and unpin through the API, and `label` once the daemon is
// gone. Real PostgreSQL and MinIO.
func TestPinThroughAPIAndCLI(t *testing.T) {
	src := pgDB(t, false)
	psql(t, src, "CREATE TABLE t AS SELECT 1 AS x")
	token := "tok-" + randomName("")
	s := writeSetup(t, setupOpts{s3: true, apiToken: token, schedule: "0 0 1 1 *", targets: []target{{name: "main", engine: "postgres", db: src}}})
	d := startDaemon(t, s, token)
	d.waitFor(t, "ready", 20*time.Second, func() bool { return d.status(t, "GET", "/readyz", "", nil) == 200 })

	var b pinnedBackup
	if code := d.call(t, "POST", "/v1/backups", map[string]any{"pinned": true}, &b); code != 202 || !slices.Contains(b.Labels, "pinned") {
		t.Fatalf("POST {pinned: true} = %d %+v", code, b)
	}
	if got := d.waitBackup(t, b.ID); got.Status != "Completed" {
		t.Fatalf("backup ended %+v", got)
	}
	d.call(t, "GET", "/v1/backups/"+b.ID, nil, &b)
	if b.Trigger != "manual" || !slices.Equal(b.Labels, []string{"manual", "pinned"}) {
		t.Fatalf("pinned on-demand backup: %+v", b)
	}

	r := runner(t, nil, "label", "-f", s.path, "--backup", b.ID, "--remove", "pinned")
	holder := regexp.MustCompile(`lease acquired.*holder=(\S+)`).FindStringSubmatch(d.logs.String())
	if r.code != 1 || holder == nil || !strings.Contains(r.stderr, "held by "+holder[1]) {
		t.Fatalf("label beside a running daemon: exit %d, stderr %q; want exit 1 naming the holder %v", r.code, r.stderr, holder)
	}
	if d.call(t, "GET", "/v1/backups/"+b.ID, nil, &b); !slices.Contains(b.Labels, "pinned") {
		t.Fatalf("the refused label command changed the labels: %v", b.Labels)
	}

	if code := d.call(t, "DELETE", "/v1/backups/"+b.ID+"/labels/pinned", nil, &b); code != 200 || slices.Contains(b.Labels, "pinned") {
		t.Fatalf("DELETE pinned = %d, labels %v", code, b.Labels)
	}
	if code := d.call(t, "PUT", "/v1/backups/latest/labels/incident-7", nil, &b); code != 200 || !slices.Contains(b.Labels, "incident-7") {
		t.Fatalf("PUT incident-7 on latest = %d, labels %v", code, b.Labels)
	}
	if code := d.call(t, "PUT", "/v1/backups/"+b.ID+"/labels/daily", nil, nil); code != 400 {
		t.Errorf("PUT a time label = %d, want 400", code)
	}

	d.signal(syscall.SIGTERM)
	<-d.done
	out := mustRun(t, "label", "-f", s.path, "--backup", b.ID, "--add", "pinned", "--remove", "incident-7").stdout
	if !strings.Contains(out, "labels: [pinned]") {
		t.Fatalf("label after the daemon stopped: %s", out)
	}
	left := list(t, s)
	if len(left) != 1 || strings.Join(left[0].Labels, ",") != "manual,pinned" {
		t.Fatalf("listed %+v", left)
	}
}
