package runnerapi

import (
	"context"
	"net/http"
	"time"
)

// StatusService is implemented by a Service that reports what proves the
// definition's backups: the offsite copy, scheduled verification and
// restore tests. It is optional, so a Service without it (a test fake)
// still satisfies the API; GET /v1/status then answers 404.
type StatusService interface {
	Status(ctx context.Context) (RunnerStatus, error)
}

// RunnerStatus is the body of GET /v1/status. A part is absent when the
// definition does not use it.
type RunnerStatus struct {
	Offsite     *OffsiteStatus     `json:"offsite,omitempty"`
	Verify      *VerifyStatus      `json:"verify,omitempty"`
	RestoreTest *RestoreTestStatus `json:"restoreTest,omitempty"`
}

// OffsiteStatus is the state of the offsite copy.
type OffsiteStatus struct {
	// Storage describes the offsite storage (no credentials).
	Storage string `json:"storage"`
	// LastRunTime is the end of the last copy run; LastSuccessTime of the
	// last one that left no backup waiting.
	LastRunTime     time.Time `json:"lastRunTime,omitzero"`
	LastSuccessTime time.Time `json:"lastSuccessTime,omitzero"`
	// Backups the offsite copy holds.
	Backups int `json:"backups"`
	// Waiting are the backups it lacks and would keep, oldest first.
	Waiting []string `json:"waiting,omitempty"`
	// Error of the last run; it is retried at NextRetryTime.
	Error         string    `json:"error,omitempty"`
	NextRetryTime time.Time `json:"nextRetryTime,omitzero"`
}

// VerifyStatus is the last scheduled verification.
type VerifyStatus struct {
	LastRunTime     time.Time `json:"lastRunTime,omitzero"`
	LastSuccessTime time.Time `json:"lastSuccessTime,omitzero"`
	// Verified are the backups the last run read, by storage.
	Verified map[string][]string `json:"verified,omitempty"`
	Problems []ObjectProblem     `json:"problems,omitempty"`
	Error    string              `json:"error,omitempty"`
}

// ObjectProblem is an object verification found corrupt or missing.
type ObjectProblem struct {
	Storage  string `json:"storage"`
	BackupID string `json:"backupId"`
	Target   string `json:"target"`
	Object   string `json:"object"`
	// Problem is corrupt or missing.
	Problem string `json:"problem"`
	Error   string `json:"error"`
}

// RestoreTestStatus is the last restore test and the last one that passed.
type RestoreTestStatus struct {
	// Last is the newest restore test, running or ended.
	Last *RestoreTest `json:"last,omitempty"`
	// ProvenBackupID is the newest backup a restore test proved
	// restorable, at ProvenTime.
	ProvenBackupID string    `json:"provenBackupId,omitempty"`
	ProvenTime     time.Time `json:"provenTime,omitzero"`
}

// RestoreTest is one restore test.
type RestoreTest struct {
	ID       string `json:"id"`
	BackupID string `json:"backupId"`
	// Status is Running, Passed or Failed.
	Status    string              `json:"status"`
	StartTime time.Time           `json:"startTime"`
	EndTime   time.Time           `json:"endTime,omitzero"`
	Error     string              `json:"error,omitempty"`
	Targets   []RestoreTestTarget `json:"targets"`
}

// RestoreTestTarget is one target's part of a restore test.
type RestoreTestTarget struct {
	Name           string        `json:"name"`
	Server         string        `json:"server"`
	Database       string        `json:"database"`
	Directory      string        `json:"directory,omitempty"`
	Dropped        bool          `json:"dropped"`
	RestoreSeconds float64       `json:"restoreSeconds"`
	Checks         []CheckResult `json:"checks,omitempty"`
	Counts         []CountResult `json:"counts,omitempty"`
	Error          string        `json:"error,omitempty"`
}

// CountResult is one count a restore test compared (filesystem and
// kubernetes targets): it passed when Backup equals Restored.
type CountResult struct {
	What     string `json:"what"`
	Backup   int64  `json:"backup"`
	Restored int64  `json:"restored"`
}

// CheckResult is one check of a restore test.
type CheckResult struct {
	SQL    string `json:"sql"`
	Passed bool   `json:"passed"`
	Error  string `json:"error,omitempty"`
}

// Offsite states of a Backup.
const (
	// OffsiteCopied: the backup's manifest is in the offsite storage.
	OffsiteCopied = "Copied"
	// OffsiteWaiting: the offsite copy lacks the backup and would keep it.
	OffsiteWaiting = "Waiting"
)

func (a *api) getStatus(w http.ResponseWriter, r *http.Request) {
	s, ok := a.svc.(StatusService)
	if !ok {
		writeError(w, a.log, http.StatusNotFound, "this runner reports no status")
		return
	}
	st, err := s.Status(r.Context())
	if err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	writeJSON(w, a.log, http.StatusOK, st)
}
