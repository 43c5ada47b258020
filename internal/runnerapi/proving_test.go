package runnerapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// statusService is a fakeService that reports a status.
type statusService struct {
	*fakeService
	st RunnerStatus
}

func (s statusService) Status(context.Context) (RunnerStatus, error) { return s.st, nil }

func TestStatus(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	want := RunnerStatus{Offsite: &OffsiteStatus{Storage: "s3://far", Backups: 3, Waiting: []string{"20261121T100000Z-abcd"}, LastRunTime: at}}
	h := NewHandler(statusService{fakeService: &fakeService{}, st: want}, "tok", nil, nil)
	if rec := do(t, h, request{method: "GET", path: "/v1/status"}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", rec.Code)
	}
	rec := do(t, h, request{method: "GET", path: "/v1/status", auth: "Bearer tok"})
	var got RunnerStatus
	if err := json.NewDecoder(rec.Body).Decode(&got); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("GET /v1/status = %d, %v", rec.Code, err)
	}
	if got.Offsite == nil || got.Offsite.Backups != 3 || len(got.Offsite.Waiting) != 1 || got.Verify != nil || got.RestoreTest != nil {
		t.Fatalf("status %+v", got)
	}
	// A service without a status answers 404.
	h = NewHandler(&fakeService{}, "tok", nil, nil)
	if rec := do(t, h, request{method: "GET", path: "/v1/status", auth: "Bearer tok"}); rec.Code != http.StatusNotFound {
		t.Fatalf("without a StatusService: %d", rec.Code)
	}
}

func TestRestoreRequestFrom(t *testing.T) {
	for from, ok := range map[string]bool{"": true, "primary": true, "offsite": true, "elsewhere": false} {
		err := RestoreRequest{BackupID: Latest, From: from}.Validate()
		if (err == nil) != ok {
			t.Errorf("from %q: %v", from, err)
		}
	}
}
