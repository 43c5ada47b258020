package runnerapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

// routeRecorder notes the route pattern ("METHOD /path") that served each
// request: ServeMux sets Request.Pattern on the request it is given.
type routeRecorder struct {
	mu     sync.Mutex
	served map[string]bool
	next   http.Handler
}

func (rr *routeRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr.next.ServeHTTP(w, r)
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.served[r.Pattern] = true
}

// clientCall is one call of the Client: what it returned, for comparison.
type clientCall func(context.Context, *Client) (any, error)

// TestClientRoundTrip drives every route of the API through the real Client
// against the real handler, and every error status back to its sentinel:
// the HTTP contract, seen from both ends at once.
func TestClientRoundTrip(t *testing.T) {
	pinned := Backup{ID: "20261121T093000Z-aaaa", Status: phase.Completed, StartTime: t0.Add(-time.Hour), EndTime: t0.Add(-59 * time.Minute),
		Labels: []string{"pinned"}, Targets: newFake().backups[0].Targets}
	tests := map[string]struct {
		setup func(*fakeService)
		// token the client sends; empty means testToken.
		token string
		call  clientCall
		want  any
		// wantErr is the sentinel the error wraps; wantStatus its status.
		wantErr    error
		wantStatus int
	}{
		"healthz": {call: func(ctx context.Context, c *Client) (any, error) { return nil, c.Healthz(ctx) }},
		"ready":   {call: func(ctx context.Context, c *Client) (any, error) { return nil, c.Ready(ctx) }},
		"not ready (503)": {
			setup: func(f *fakeService) { f.notReady = errors.New("bucket unreachable") },
			call:  func(ctx context.Context, c *Client) (any, error) { return nil, c.Ready(ctx) }, wantErr: ErrNotReady, wantStatus: 503,
		},
		"readiness, ready": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Readiness(ctx) },
			want: Readiness{Ready: true},
		},
		"readiness, lease held": {
			setup: func(f *fakeService) {
				f.notReady = fmt.Errorf("checking: %w", &NotReadyError{Reason: ReadinessLeaseHeld, Message: "lease held by r-0 until 2026-11-21T10:31:00Z"})
			},
			call: func(ctx context.Context, c *Client) (any, error) { return c.Readiness(ctx) },
			want: Readiness{Reason: ReadinessLeaseHeld, Message: "lease held by r-0 until 2026-11-21T10:31:00Z"},
		},
		"readiness, unclassified": {
			setup: func(f *fakeService) { f.notReady = errors.New("bucket unreachable") },
			call:  func(ctx context.Context, c *Client) (any, error) { return c.Readiness(ctx) },
			want:  Readiness{Reason: ReadinessNotReady, Message: "bucket unreachable"},
		},
		"readiness needs the token (401)": {
			token:   "not-the-token",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Readiness(ctx) },
			wantErr: ErrUnauthorized, wantStatus: 401,
		},
		"metrics": {
			call: func(ctx context.Context, c *Client) (any, error) { m, err := c.Metrics(ctx); return string(m), err },
			want: "coffer_lease_held 1\n",
		},
		"list backups": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Backups(ctx) },
			want: newFake().backups,
		},
		"get backup": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Backup(ctx, "20261121T103000Z-bbbb") },
			want: newFake().backups[1],
		},
		"get unknown backup (404)": {
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Backup(ctx, "20200101T000000Z-zzzz") },
			wantErr: ErrNotFound, wantStatus: 404,
		},
		"trigger pinned": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.TriggerBackup(ctx, BackupRequest{Pinned: true})
			},
			want: Backup{ID: "20261121T113000Z-cccc", Status: phase.Pending, Labels: []string{"pinned"}},
		},
		"trigger while busy (409)": {
			setup:   func(f *fakeService) { f.busy = true },
			call:    func(ctx context.Context, c *Client) (any, error) { return c.TriggerBackup(ctx, BackupRequest{}) },
			wantErr: ErrBusy, wantStatus: 409,
		},
		"pin": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetLabel(ctx, "20261121T093000Z-aaaa", "pinned", true)
			},
			want: pinned,
		},
		"unpin": {
			setup: func(f *fakeService) { f.backups[0].Labels = []string{"pinned"} },
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetLabel(ctx, "20261121T093000Z-aaaa", "pinned", false)
			},
			want: func() Backup { b := pinned; b.Labels = nil; return b }(), // omitempty: no labels left
		},
		"set a time label (400)": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetLabel(ctx, "20261121T093000Z-aaaa", "hourly", true)
			},
			wantErr: ErrInvalid, wantStatus: 400,
		},
		"start restore": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StartRestore(ctx, RestoreRequest{BackupID: "20261121T093000Z-aaaa", Target: "main", Clean: true})
			},
			want: Restore{ID: "r-2", BackupID: "20261121T093000Z-aaaa", Status: phase.Pending},
		},
		"invalid restore (400)": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StartRestore(ctx, RestoreRequest{Target: "main"})
			},
			wantErr: ErrInvalid, wantStatus: 400,
		},
		"restore while busy (409)": {
			setup: func(f *fakeService) { f.busy = true },
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StartRestore(ctx, RestoreRequest{BackupID: Latest})
			},
			wantErr: ErrBusy, wantStatus: 409,
		},
		"restore body too large (413)": {
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.StartRestore(ctx, RestoreRequest{BackupID: strings.Repeat("x", maxBodyBytes)})
			},
			wantErr: ErrTooLarge, wantStatus: 413,
		},
		"get restore": {
			call: func(ctx context.Context, c *Client) (any, error) { return c.Restore(ctx, "r-1") },
			want: newFake().restores["r-1"],
		},
		"get unknown restore (404)": {
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Restore(ctx, "r-9") },
			wantErr: ErrNotFound, wantStatus: 404,
		},
		"volume pushes": {
			setup: func(f *fakeService) {
				f.pushes = []VolumePush{{Direction: DirectionBackup, BackupID: "20261121T103000Z-bbbb", Target: "data",
					PersistentVolumeClaim: "pvc", Path: "/data", Excludes: []string{"cache"}, URL: "http://r/v1/push/t/"}}
			},
			call: func(ctx context.Context, c *Client) (any, error) { return c.VolumePushes(ctx) },
			want: []VolumePush{{Direction: DirectionBackup, BackupID: "20261121T103000Z-bbbb", Target: "data",
				PersistentVolumeClaim: "pvc", Path: "/data", Excludes: []string{"cache"}, URL: "http://r/v1/push/t/"}},
		},
		"status of a runner that reports none (404)": {
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Status(ctx) },
			wantErr: ErrNotFound, wantStatus: 404,
		},
		"wrong token (401)": {
			token:   "not-the-token",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Backups(ctx) },
			wantErr: ErrUnauthorized, wantStatus: 401,
		},
		"internal error (500) wraps no sentinel": {
			setup:      func(f *fakeService) { f.err = errors.New("s3: connection refused") },
			call:       func(ctx context.Context, c *Client) (any, error) { return c.Backups(ctx) },
			wantStatus: 500,
		},
	}

	served := map[string]bool{}
	ran := 0
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ran++
			svc := newFake()
			if tc.setup != nil {
				tc.setup(svc)
			}
			rr := &routeRecorder{served: served, next: NewHandler(svc, testToken, metricsStub, nil)}
			srv := httptest.NewServer(rr)
			defer srv.Close()
			token := tc.token
			if token == "" {
				token = testToken
			}
			got, err := tc.call(context.Background(), NewClient(srv.URL, token, srv.Client()))
			checkClientError(t, err, tc.wantErr, tc.wantStatus)
			if err == nil && tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}

	if ran < len(tests) {
		return // -run picked some cases
	}
	for _, rt := range (&api{}).routes(nil) {
		if !served[rt.method+" "+rt.path] {
			t.Errorf("route %s %s is not exercised through the client", rt.method, rt.path)
		}
	}
}

// checkClientError: err wraps want and is a *ResponseError of status
// (neither when status is 0).
func checkClientError(t *testing.T, err, want error, status int) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Fatalf("error %v", err)
		}
		return
	}
	var re *ResponseError
	if !errors.As(err, &re) || re.Status != status {
		t.Fatalf("error %v (%T), want a ResponseError of status %d", err, err, status)
	}
	for _, row := range statusErrors {
		if is := errors.Is(err, row.err); is != (row.err == want) {
			t.Errorf("errors.Is(%v, %v) = %v", err, row.err, is)
		}
	}
	if re.Message == "" {
		t.Errorf("error %v carries no message from the body", err)
	}
}

// TestStatusErrorsTable: each sentinel has its own status, and the handler's
// and the client's directions agree on every row.
func TestStatusErrorsTable(t *testing.T) {
	seen := map[int]bool{}
	for _, row := range statusErrors {
		if seen[row.status] {
			t.Errorf("status %d has two errors", row.status)
		}
		seen[row.status] = true
		if got := statusOf(fmt.Errorf("wrapped: %w", row.err)); got != row.status {
			t.Errorf("statusOf(%v) = %d, want %d", row.err, got, row.status)
		}
		if err := responseError(http.MethodGet, "/x", row.status, "m"); !errors.Is(err, row.err) {
			t.Errorf("status %d comes back as %v, not %v", row.status, err, row.err)
		}
	}
	if statusOf(errors.New("other")) != 0 {
		t.Error("an unknown error has a status")
	}
}

// TestClientUnreachable: a runner that does not answer is not an answer.
func TestClientUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := NewClient(srv.URL, testToken, nil).Backups(context.Background())
	var re *ResponseError
	if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("error %v", err)
	}
}
