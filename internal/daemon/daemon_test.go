package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/scheduler"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestScheduledBackupsAndRetention drives the daemon with a fake clock over
// a few hours against real PostgreSQL and filesystem storage: a backup at
// each hour, and retention after each one (hourly: 2).
func TestScheduledBackupsAndRetention(t *testing.T) {
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) AS i")
	dir := t.TempDir()
	cfg := loadConfig(t, dir, db, false, "{hourly: 2}")
	clock := scheduler.NewFakeClock(time.Date(2026, 11, 21, 10, 59, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	jobDone := make(chan struct{}, 1)
	opts := Options{Clock: clock, Listener: listen(t), Token: "t0ken", InFlightWindow: 90 * time.Minute,
		afterScheduledJob: func() { jobDone <- struct{}{} }}
	go func() { done <- Run(ctx, cfg, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	cat := openCatalog(t, dir)
	for hour := 1; hour <= 4; hour++ {
		waitTimer(t, clock)
		clock.Advance(time.Hour)
		select {
		case <-jobDone: // backup and retention finished: the next slot will not be skipped
		case <-time.After(60 * time.Second):
			t.Fatalf("no scheduled backup ran after hour %d", hour)
		}
		want := min(hour, 2) // hourly keeps the newest 2
		testutil.Eventually(t, 60*time.Second, fmt.Sprintf("%d backups after hour %d", want, hour), func() bool {
			ms, _ := cat.List(context.Background())
			return len(ms) == want && ms[len(ms)-1].StartTime.Hour() == 10+hour
		})
	}
	ms, _ := cat.List(context.Background())
	var hours []int
	for _, m := range ms {
		hours = append(hours, m.StartTime.Hour())
	}
	if fmt.Sprint(hours) != "[13 14]" {
		t.Fatalf("kept backups from hours %v, want [13 14]", hours)
	}
}

func TestSuspendedTakesNoScheduledBackup(t *testing.T) {
	db := testutil.PostgresDB(t)
	dir := t.TempDir()
	cfg := loadConfig(t, dir, db, true, "{hourly: 2}")
	clock := scheduler.NewFakeClock(time.Date(2026, 11, 21, 10, 59, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, Options{Clock: clock, Listener: listen(t), Token: "t0ken"}) }()
	for range 3 {
		clock.Advance(time.Hour)
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ms, _ := openCatalog(t, dir).List(context.Background()); len(ms) != 0 {
		t.Fatalf("a suspended definition took %d backups", len(ms))
	}
}

func loadConfig(t *testing.T, dir, db string, suspend bool, retention string) *config.Config {
	t.Helper()
	return loadConfigWith(t, fmt.Sprintf("{filesystem: {path: %q}}", dir), "", db, suspend, retention)
}

// loadConfigOn writes and loads a config whose BackupStorage spec is
// storageSpec (a flow mapping), followed by extraDocs (the Secrets it needs).
func loadConfigOn(t *testing.T, storageSpec, extraDocs, db string, suspend bool) *config.Config {
	t.Helper()
	return loadConfigWith(t, storageSpec, extraDocs, db, suspend, "{hourly: 2}")
}

// loadConfigWith is loadConfigOn with the definition's retention (a flow
// mapping).
func loadConfigWith(t *testing.T, storageSpec, extraDocs, db string, suspend bool, retention string) *config.Config {
	t.Helper()
	yaml := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: local}
spec: %s
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: shop, namespace: test}
spec:
  storageRef: {name: local}
  schedule: "0 * * * *"
  suspend: %v
  retention: %s
  targets:
  - name: main
    postgres: {host: 127.0.0.1, port: 5432, database: %s, user: postgres}
`, storageSpec, suspend, retention, db) + extraDocs
	path := filepath.Join(t.TempDir(), "coffer.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func openCatalog(t *testing.T, dir string) catalog.Catalog {
	t.Helper()
	s, err := storage.Open(context.Background(), storage.Config{Filesystem: &storage.FilesystemConfig{Path: dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return catalog.Catalog{Store: s, Definition: layout.Definition{Namespace: "test", Name: "shop"}}
}

// listen opens the API's listener on a port the kernel picks: no race for
// a "free" port. The daemon closes it.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// waitTimer waits until the scheduler is waiting on the fake clock.
func waitTimer(t *testing.T, c *scheduler.FakeClock) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitForTimers(ctx, 1); err != nil {
		t.Fatalf("the scheduler never waited on the clock: %v", err)
	}
}
