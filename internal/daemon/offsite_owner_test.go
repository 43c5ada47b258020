package daemon

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/scheduler"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestOffsiteOfAnotherPrimaryIsReported: an offsite copy that belongs to
// another primary storage is refused; the daemon reports it like a failed
// copy (the error in its status, the backup waiting, the pending age
// growing, so the alert fires) and writes nothing offsite.
func TestOffsiteOfAnotherPrimaryIsReported(t *testing.T) {
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t AS SELECT 1 AS i")
	primary, far := t.TempDir(), t.TempDir()
	owner := filepath.Join(far, layout.Definition{Namespace: "test", Name: "shop"}.OffsiteOwnerKey())
	if err := os.MkdirAll(filepath.Dir(owner), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(owner, []byte(`{"id": "0123456789abcdef", "storage": "s3://elsewhere/prod"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfigWith(t, fmt.Sprintf("{filesystem: {path: %q}, offsite: {filesystem: {path: %q}}}", primary, far), "", db, true,
		"{hourly: 2, offsite: {daily: 7}}")
	clock := scheduler.NewFakeClock(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	r := startDaemon(t, cfg, Options{Clock: clock})
	r.backup(t)
	testutil.Eventually(t, 60*time.Second, "the refused copy to be reported", func() bool {
		o := r.status(t).Offsite
		return o != nil && strings.Contains(o.Error, "belongs to another primary storage") && strings.Contains(o.Error, "s3://elsewhere/prod") &&
			len(o.Waiting) == 1
	})
	clock.Advance(time.Minute)
	if age := r.metric(t, "coffer_offsite_oldest_pending_age_seconds"+labels); age < 60 {
		t.Fatalf("oldest pending age %v, want at least 60s", age)
	}
	var written []string
	_ = filepath.WalkDir(far, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != owner {
			written = append(written, p)
		}
		return nil
	})
	if len(written) != 0 {
		t.Fatalf("written offsite although the copy is another primary's: %v", written)
	}
}
