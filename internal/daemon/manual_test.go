package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/scheduler"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestOnDemandBackupsSurviveTheSchedule: two backups taken through the API
// right after a scheduled one, the second pinned at creation, outlive four
// hours of schedule and retention that keeps two hourly backups; the
// manifest says how each was triggered, and the label routes pin and unpin.
// Real PostgreSQL, filesystem storage, a fake clock.
func TestOnDemandBackupsSurviveTheSchedule(t *testing.T) {
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) AS i")
	dir := t.TempDir()
	cfg := loadConfig(t, dir, db, false, "{hourly: 2, manual: 2}")
	clock := scheduler.NewFakeClock(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	jobDone := make(chan struct{}, 1)
	ln := listen(t)
	api := &apiClient{t: t, base: "http://" + ln.Addr().String(), token: "t0ken"}
	opts := Options{Clock: clock, Listener: ln, Token: api.token, InFlightWindow: 90 * time.Minute,
		afterScheduledJob: func() { jobDone <- struct{}{} }}
	go func() { done <- Run(ctx, cfg, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	scheduled := func() {
		t.Helper()
		waitTimer(t, clock)
		clock.Advance(time.Hour)
		select {
		case <-jobDone:
		case <-time.After(60 * time.Second):
			t.Fatal("no scheduled backup ran")
		}
		// The scheduler clears its own running flag just after the job
		// returns; a listing takes far longer than that.
		api.do(http.MethodGet, "/v1/backups", nil, 200)
	}
	scheduled() // 10:00
	clock.Advance(20 * time.Minute)
	plain := api.backup(nil) // 10:20, "before the migration"
	clock.Advance(time.Minute)
	pinned := api.backup(map[string]any{"pinned": true})
	for range 4 { // 11:21, 12:21, 13:21, 14:21 for the slots 11:00 .. 14:00
		scheduled()
	}

	ms, _ := openCatalog(t, dir).List(context.Background())
	var got []string
	for _, m := range ms {
		got = append(got, fmt.Sprintf("%02d:%02d %s %v", m.StartTime.Hour(), m.StartTime.Minute(), m.Trigger, m.Labels))
	}
	want := []string{"10:20 manual []", "10:21 manual [pinned]", "13:21 schedule []", "14:21 schedule []"}
	if !slices.Equal(got, want) {
		t.Fatalf("after four hours the catalog holds\n%q\nwant\n%q", got, want)
	}
	if b := api.get(plain.ID); !slices.Equal(b.Labels, []string{"manual"}) || b.Trigger != string(manifest.TriggerManual) {
		t.Errorf("on-demand backup as listed: labels %v, trigger %q", b.Labels, b.Trigger)
	}

	if b := api.label(http.MethodPut, plain.ID, "pinned", 200); !slices.Equal(b.Labels, []string{"manual", "pinned"}) {
		t.Errorf("after PUT pinned: labels %v", b.Labels)
	}
	api.label(http.MethodPut, plain.ID, "pinned", 200) // idempotent
	if b := api.label(http.MethodDelete, pinned.ID, "pinned", 200); !slices.Equal(b.Labels, []string{"manual"}) {
		t.Errorf("after DELETE pinned: labels %v", b.Labels)
	}
	m, err := openCatalog(t, dir).Get(context.Background(), plain.ID)
	if err != nil || !slices.Equal(m.Labels, []string{"pinned"}) || !m.Manual() {
		t.Fatalf("manifest of %s after pinning: %+v, %v", plain.ID, m, err)
	}
	api.label(http.MethodPut, plain.ID, "manual", 400)
	api.label(http.MethodPut, "20200101T000000Z-zzzz", "pinned", 404)
}

// apiClient calls the daemon's API.
type apiClient struct {
	t           *testing.T
	base, token string
}

func (a *apiClient) do(method, path string, body any, want int) runnerapi.Backup {
	a.t.Helper()
	var rd bytes.Buffer
	if body != nil {
		json.NewEncoder(&rd).Encode(body)
	}
	req, _ := http.NewRequest(method, a.base+path, &rd)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b runnerapi.Backup
	json.NewDecoder(resp.Body).Decode(&b)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %s, want %d", method, path, resp.Status, want)
	}
	return b
}

func (a *apiClient) get(id string) runnerapi.Backup {
	return a.do(http.MethodGet, "/v1/backups/"+id, nil, 200)
}

// backup starts an on-demand backup and waits until it and its retention
// are done (the daemon is idle again).
func (a *apiClient) backup(body any) runnerapi.Backup {
	a.t.Helper()
	b := a.do(http.MethodPost, "/v1/backups", body, 202)
	testutil.Eventually(a.t, 60*time.Second, "backup "+b.ID, func() bool {
		b = a.get(b.ID)
		return b.Status == phase.Completed || b.Status == phase.Failed
	})
	if b.Status != phase.Completed {
		a.t.Fatalf("on-demand backup %s: %s", b.ID, b.Error)
	}
	return b
}

func (a *apiClient) label(method, id, label string, want int) runnerapi.Backup {
	a.t.Helper()
	return a.do(method, "/v1/backups/"+id+"/labels/"+label, nil, want)
}
