package runnerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

const testToken = "s3cret-t0ken"

var t0 = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// fakeService is an in-memory Service: what is under test is the HTTP layer.
type fakeService struct {
	mu       sync.Mutex
	backups  []Backup
	restores map[string]Restore
	busy     bool
	err      error // returned by every call when set
	notReady error
	pushes   []VolumePush
	started  []RestoreRequest
}

func newFake() *fakeService {
	return &fakeService{
		backups: []Backup{
			{ID: "20261121T093000Z-aaaa", Status: phase.Completed, StartTime: t0.Add(-time.Hour), EndTime: t0.Add(-59 * time.Minute),
				Targets: []BackupTarget{{Name: "main", Engine: "postgres", Size: 10, SHA256: strings.Repeat("a", 64), PlainSize: 40,
					StartTime: t0.Add(-time.Hour), EndTime: t0.Add(-59 * time.Minute)}}},
			{ID: "20261121T103000Z-bbbb", Status: phase.Failed, StartTime: t0, EndTime: t0.Add(time.Minute), Error: "target main: pg_dump exited 1"},
		},
		restores: map[string]Restore{
			"r-1": {ID: "r-1", BackupID: "20261121T093000Z-aaaa", Status: phase.Running, StartTime: t0},
		},
	}
}

func (f *fakeService) Backups(context.Context) ([]Backup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Backup(nil), f.backups...), f.err
}

func (f *fakeService) Backup(_ context.Context, id string) (Backup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Backup{}, f.err
	}
	for _, b := range f.backups {
		if b.ID == id {
			return b, nil
		}
	}
	return Backup{}, fmt.Errorf("backup %q: %w", id, ErrNotFound)
}

func (f *fakeService) TriggerBackup(_ context.Context, req BackupRequest) (Backup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Backup{}, f.err
	}
	if f.busy {
		return Backup{}, fmt.Errorf("backup 20261121T103000Z-bbbb is running: %w", ErrBusy)
	}
	b := Backup{ID: "20261121T113000Z-cccc", Status: phase.Pending}
	if req.Pinned {
		b.Labels = []string{"pinned"}
	}
	f.backups = append(f.backups, b)
	f.busy = true
	return b, nil
}

// SetLabel changes the labels of a backup of the fake; "hourly" stands for
// every label the service refuses.
func (f *fakeService) SetLabel(_ context.Context, id, label string, set bool) (Backup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.err != nil:
		return Backup{}, f.err
	case label == "hourly":
		return Backup{}, fmt.Errorf("%w: label %q is given by retention", ErrInvalid, label)
	}
	for i, b := range f.backups {
		if b.ID != id {
			continue
		}
		labels := slices.DeleteFunc(slices.Clone(b.Labels), func(l string) bool { return l == label })
		if set {
			labels = append(labels, label)
		}
		f.backups[i].Labels = labels
		return f.backups[i], nil
	}
	return Backup{}, fmt.Errorf("backup %q: %w", id, ErrNotFound)
}

func (f *fakeService) StartRestore(_ context.Context, req RestoreRequest) (Restore, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.err != nil:
		return Restore{}, f.err
	case f.busy:
		return Restore{}, ErrBusy
	case req.Target == "nope":
		return Restore{}, fmt.Errorf("%w: backup has no target %q", ErrInvalid, req.Target)
	}
	f.started = append(f.started, req)
	r := Restore{ID: "r-2", BackupID: req.BackupID, Status: phase.Pending}
	f.restores[r.ID] = r
	return r, nil
}

func (f *fakeService) Restore(_ context.Context, id string) (Restore, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Restore{}, f.err
	}
	r, ok := f.restores[id]
	if !ok {
		return Restore{}, fmt.Errorf("restore %q: %w", id, ErrNotFound)
	}
	return r, nil
}

func (f *fakeService) Ready(context.Context) error { return f.notReady }

func (f *fakeService) VolumePushes(context.Context) ([]VolumePush, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pushes, f.err
}

// metricsStub stands in for the Prometheus handler.
var metricsStub = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	_, _ = w.Write([]byte("coffer_lease_held 1\n"))
})

// logBuffer is a logger whose output the test can read.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

type request struct {
	method, path string
	// auth is the Authorization header; "" sends none.
	auth string
	body string
}

func do(t *testing.T, h http.Handler, req request) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(req.method, req.path, strings.NewReader(req.body))
	r.RemoteAddr = "10.1.2.3:4567"
	if req.auth != "" {
		r.Header.Set("Authorization", req.auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// errorOf decodes an error body, failing if it is not {"error": "..."}.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body errorBody
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == "" {
		t.Fatalf("body is not a JSON error (%v): %q", err, rec.Body.String())
	}
	return body.Error
}

func TestErrorClassesReachStatus(t *testing.T) {
	tests := map[string]struct {
		err  error
		want int
	}{
		"not found": {fmt.Errorf("x: %w", ErrNotFound), http.StatusNotFound},
		"busy":      {fmt.Errorf("x: %w", ErrBusy), http.StatusConflict},
		"invalid":   {fmt.Errorf("x: %w", ErrInvalid), http.StatusBadRequest},
		"other":     {errors.New("s3: connection refused to minio.internal"), http.StatusInternalServerError},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			svc := newFake()
			svc.err = tc.err
			log, buf := logBuffer()
			rec := do(t, NewHandler(svc, testToken, nil, log), request{method: http.MethodGet, path: "/v1/backups", auth: "Bearer " + testToken})
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			msg := errorOf(t, rec)
			if tc.want == http.StatusInternalServerError {
				if strings.Contains(msg, "minio") {
					t.Errorf("500 body leaks the cause: %q", msg)
				}
				if !strings.Contains(buf.String(), "minio.internal") {
					t.Errorf("500 cause not logged:\n%s", buf)
				}
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	bearer := "Bearer " + testToken
	tests := map[string]struct {
		req        request
		setup      func(*fakeService)
		wantStatus int
		// wantBody is a substring of the body.
		wantBody string
		// wantHeader are response headers.
		wantHeader map[string]string
		// check inspects the service after the request.
		check func(*testing.T, *fakeService)
	}{
		"healthz without token": {req: request{method: "GET", path: "/healthz"}, wantStatus: 200, wantBody: `"status":"ok"`},
		"healthz HEAD":          {req: request{method: "HEAD", path: "/healthz"}, wantStatus: 200},
		"readyz ready":          {req: request{method: "GET", path: "/readyz"}, wantStatus: 200, wantBody: `"status":"ok"`},
		"readyz not ready": {
			req:        request{method: "GET", path: "/readyz"},
			setup:      func(f *fakeService) { f.notReady = errors.New("bucket backups at minio.internal unreachable") },
			wantStatus: 503, wantBody: `{"error":"not ready"}`,
		},
		"metrics without token": {req: request{method: "GET", path: "/metrics"}, wantStatus: 200, wantBody: "coffer_lease_held 1"},
		"list backups, oldest first": {
			req: request{method: "GET", path: "/v1/backups", auth: bearer}, wantStatus: 200,
			wantBody: `{"items":[{"id":"20261121T093000Z-aaaa","status":"Completed","startTime":"2026-11-21T09:30:00Z","endTime":"2026-11-21T09:31:00Z","targets":[{"name":"main","engine":"postgres","size":10,"sha256":"` +
				strings.Repeat("a", 64) + `","plainSize":40,"startTime":"2026-11-21T09:30:00Z","endTime":"2026-11-21T09:31:00Z"}]},{"id":"20261121T103000Z-bbbb","status":"Failed"`,
		},
		"volume pushes, none": {req: request{method: "GET", path: "/v1/volume-pushes", auth: bearer}, wantStatus: 200, wantBody: `{"items":[]}`},
		"volume pushes": {
			req: request{method: "GET", path: "/v1/volume-pushes", auth: bearer},
			setup: func(f *fakeService) {
				f.pushes = []VolumePush{{BackupID: "20261121T103000Z-bbbb", Target: "data", PersistentVolumeClaim: "pvc", Path: "/data", URL: "http://r/v1/push/t/"}}
			},
			wantStatus: 200, wantBody: `"persistentVolumeClaim":"pvc"`,
		},
		"volume pushes need the token": {req: request{method: "GET", path: "/v1/volume-pushes"}, wantStatus: 401},
		"list no backups": {
			req: request{method: "GET", path: "/v1/backups", auth: bearer}, setup: func(f *fakeService) { f.backups = nil },
			wantStatus: 200, wantBody: `{"items":[]}`,
		},
		"get backup": {
			req: request{method: "GET", path: "/v1/backups/20261121T103000Z-bbbb", auth: bearer}, wantStatus: 200,
			wantBody: `"error":"target main: pg_dump exited 1"`,
		},
		"get unknown backup": {req: request{method: "GET", path: "/v1/backups/20200101T000000Z-zzzz", auth: bearer}, wantStatus: 404, wantBody: `"error":`},
		"trigger backup": {
			req: request{method: "POST", path: "/v1/backups", auth: bearer}, wantStatus: 202,
			wantBody:   `{"id":"20261121T113000Z-cccc","status":"Pending"}`,
			wantHeader: map[string]string{"Location": "/v1/backups/20261121T113000Z-cccc"},
		},
		"trigger pinned": {
			req: request{method: "POST", path: "/v1/backups", auth: bearer, body: `{"pinned":true}`}, wantStatus: 202,
			wantBody: `{"id":"20261121T113000Z-cccc","status":"Pending","labels":["pinned"]}`,
		},
		"trigger with an empty object": {req: request{method: "POST", path: "/v1/backups", auth: bearer, body: ` {} `}, wantStatus: 202, wantBody: `"status":"Pending"}`},
		"trigger unknown field": {
			req: request{method: "POST", path: "/v1/backups", auth: bearer, body: `{"pin":true}`}, wantStatus: 400, wantBody: `pin`,
			check: func(t *testing.T, f *fakeService) {
				if f.busy {
					t.Error("a refused request started a backup")
				}
			},
		},
		"trigger bad JSON": {req: request{method: "POST", path: "/v1/backups", auth: bearer, body: `{"pinned":`}, wantStatus: 400},
		"pin a backup": {
			req: request{method: "PUT", path: "/v1/backups/20261121T093000Z-aaaa/labels/pinned", auth: bearer}, wantStatus: 200,
			wantBody: `"labels":["pinned"]`,
		},
		"pin twice is one pin": {
			req:   request{method: "PUT", path: "/v1/backups/20261121T093000Z-aaaa/labels/pinned", auth: bearer},
			setup: func(f *fakeService) { f.backups[0].Labels = []string{"pinned"} }, wantStatus: 200,
			wantBody: `"labels":["pinned"]`,
		},
		"unpin a backup": {
			req:   request{method: "DELETE", path: "/v1/backups/20261121T093000Z-aaaa/labels/pinned", auth: bearer},
			setup: func(f *fakeService) { f.backups[0].Labels = []string{"pinned", "incident-7"} }, wantStatus: 200,
			wantBody: `"labels":["incident-7"]`,
		},
		"pin an unknown backup": {req: request{method: "PUT", path: "/v1/backups/20200101T000000Z-zzzz/labels/pinned", auth: bearer}, wantStatus: 404},
		"set a time label":      {req: request{method: "PUT", path: "/v1/backups/20261121T093000Z-aaaa/labels/hourly", auth: bearer}, wantStatus: 400, wantBody: `retention`},
		"pin needs the token":   {req: request{method: "PUT", path: "/v1/backups/20261121T093000Z-aaaa/labels/pinned"}, wantStatus: 401},
		"post a label": {
			req: request{method: "POST", path: "/v1/backups/20261121T093000Z-aaaa/labels/pinned", auth: bearer}, wantStatus: 405,
			wantHeader: map[string]string{"Allow": "PUT, DELETE"},
		},
		"trigger while busy": {
			req: request{method: "POST", path: "/v1/backups", auth: bearer}, setup: func(f *fakeService) { f.busy = true },
			wantStatus: 409, wantBody: `already running`,
		},
		"start restore": {
			req:        request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"20261121T093000Z-aaaa","target":"main","intoDatabase":"shop_copy","clean":true}`},
			wantStatus: 202, wantBody: `{"id":"r-2","backupId":"20261121T093000Z-aaaa","status":"Pending"}`,
			wantHeader: map[string]string{"Location": "/v1/restores/r-2"},
			check: func(t *testing.T, f *fakeService) {
				want := RestoreRequest{BackupID: "20261121T093000Z-aaaa", Target: "main", IntoDatabase: "shop_copy", Clean: true}
				if len(f.started) != 1 || f.started[0] != want {
					t.Errorf("service got %+v, want %+v", f.started, want)
				}
			},
		},
		"restore latest": {req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"latest"}`}, wantStatus: 202},
		"restore while busy": {
			req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"latest"}`}, setup: func(f *fakeService) { f.busy = true },
			wantStatus: 409,
		},
		"restore bad JSON":       {req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":`}, wantStatus: 400},
		"restore unknown field":  {req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"latest","force":true}`}, wantStatus: 400, wantBody: `force`},
		"restore wrong type":     {req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"latest","clean":"yes"}`}, wantStatus: 400},
		"restore empty body":     {req: request{method: "POST", path: "/v1/restores", auth: bearer}, wantStatus: 400, wantBody: `empty`},
		"restore two values":     {req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"latest"}{}`}, wantStatus: 400},
		"restore without backup": {req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"target":"main"}`}, wantStatus: 400, wantBody: `backupId is required`},
		"restore bad backup id":  {req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"../x"}`}, wantStatus: 400},
		"restore into db without target": {
			req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"latest","intoDatabase":"x"}`}, wantStatus: 400,
		},
		"restore refused by service": {
			req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"latest","target":"nope"}`}, wantStatus: 400,
			wantBody: `no target`,
		},
		"restore body too large": {
			req: request{method: "POST", path: "/v1/restores", auth: bearer, body: `{"backupId":"` + strings.Repeat("x", maxBodyBytes) + `"}`}, wantStatus: 413,
		},
		"get restore":         {req: request{method: "GET", path: "/v1/restores/r-1", auth: bearer}, wantStatus: 200, wantBody: `"status":"Running"`},
		"get unknown restore": {req: request{method: "GET", path: "/v1/restores/r-9", auth: bearer}, wantStatus: 404},
		"delete backups": {
			req: request{method: "DELETE", path: "/v1/backups", auth: bearer}, wantStatus: 405,
			wantHeader: map[string]string{"Allow": "GET, POST, HEAD"},
		},
		"put backup": {
			req: request{method: "PUT", path: "/v1/backups/20261121T093000Z-aaaa", auth: bearer}, wantStatus: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD"},
		},
		"get restores":          {req: request{method: "GET", path: "/v1/restores", auth: bearer}, wantStatus: 405, wantHeader: map[string]string{"Allow": "POST"}},
		"post healthz":          {req: request{method: "POST", path: "/healthz"}, wantStatus: 405},
		"unknown path":          {req: request{method: "GET", path: "/nope"}, wantStatus: 404},
		"unknown v1 path":       {req: request{method: "GET", path: "/v1/nope", auth: bearer}, wantStatus: 404},
		"unknown v1 path, anon": {req: request{method: "GET", path: "/v1/nope"}, wantStatus: 401},
		"405 needs token on v1": {req: request{method: "DELETE", path: "/v1/backups"}, wantStatus: 401},
		"empty id":              {req: request{method: "GET", path: "/v1/backups/", auth: bearer}, wantStatus: 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			svc := newFake()
			if tc.setup != nil {
				tc.setup(svc)
			}
			rec := do(t, NewHandler(svc, testToken, metricsStub, nil), tc.req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("body %s\nlacks %s", rec.Body, tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if rec.Code >= 400 {
				errorOf(t, rec)
			}
			if tc.check != nil {
				tc.check(t, svc)
			}
		})
	}
}

// TestValidRequestKey: a request key is optional, bounded and printable;
// a bad one is ErrInvalid naming the field, in both requests.
func TestValidRequestKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"": true, "0b7cbd1e-5f0c-4d4e-9a53-2f1e7c3b9a10": true, strings.Repeat("k", MaxRequestKey): true, "a:b/c_d.e~!": true,
		strings.Repeat("k", MaxRequestKey+1): false, "a b": false, "a\tb": false, "a\x00b": false, "ключ": false, "a\x7fb": false,
	} {
		for name, err := range map[string]error{
			"backup":  BackupRequest{RequestKey: key}.Validate(),
			"restore": RestoreRequest{BackupID: Latest, RequestKey: key}.Validate(),
		} {
			if (err == nil) != ok {
				t.Errorf("%s key %q: %v, want ok=%v", name, key, err, ok)
			}
			if err != nil && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "requestKey") || strings.Contains(err.Error(), strings.Repeat("k", 100))) {
				t.Errorf("%s key %q: %v: want ErrInvalid naming requestKey, without the key", name, key, err)
			}
		}
	}
}
