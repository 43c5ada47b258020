package catalog

import (
	"context"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
)

// Verification records one scheduled verification run
// (layout.Definition.VerificationKey). The newest record's Cursor is where
// a rotating verification continues.
type Verification struct {
	ID        string    `json:"id"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime,omitzero"`
	// Verified are the backups read, per storage (primary, offsite).
	Verified map[string][]string `json:"verified,omitempty"`
	// Cursor is the id of the last backup a rotating run verified on the
	// primary; the next run starts after it.
	Cursor string `json:"cursor,omitempty"`
	// Bytes of stored objects read.
	Bytes    int64           `json:"bytes"`
	Problems []ObjectProblem `json:"problems,omitempty"`
	// Error says why the run itself failed (a listing error, ...).
	Error string `json:"error,omitempty"`
}

func (v *Verification) recordID() string { return v.ID }

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

// PutVerification writes a verification record.
func (c Catalog) PutVerification(ctx context.Context, v Verification) error {
	return c.putRecord(ctx, c.Definition.VerificationKey(v.ID), &v)
}

// ListVerifications returns the verification records, oldest first.
func (c Catalog) ListVerifications(ctx context.Context) ([]Verification, error) {
	return listRecords[Verification](ctx, c, c.Definition.VerificationsDir(), layout.Verification)
}

// DeleteVerification removes a verification record.
func (c Catalog) DeleteVerification(ctx context.Context, id string) error {
	return c.Store.Delete(ctx, c.Definition.VerificationKey(id))
}

// RestoreTest records one restore test (layout.Definition.RestoreTestKey).
// It is written Running, naming every scratch database, before the first
// is created, and rewritten as each is dropped and when the test ends: a
// record whose databases are not all Dropped is what a killed runner left,
// and the next run drops exactly those databases.
type RestoreTest struct {
	ID        string            `json:"id"`
	BackupID  string            `json:"backupId"`
	Status    RestoreTestStatus `json:"status"`
	StartTime time.Time         `json:"startTime"`
	EndTime   time.Time         `json:"endTime,omitzero"`
	// BackupStart is the tested backup's start time.
	BackupStart time.Time           `json:"backupStart"`
	Targets     []RestoreTestTarget `json:"targets"`
	Error       string              `json:"error,omitempty"`
}

func (r *RestoreTest) recordID() string { return r.ID }

// RestoreTestStatus is the phase of a restore test.
type RestoreTestStatus string

// Phases of a restore test.
const (
	RestoreTestRunning RestoreTestStatus = "Running"
	RestoreTestPassed  RestoreTestStatus = "Passed"
	RestoreTestFailed  RestoreTestStatus = "Failed"
)

// RestoreTestTarget is one target's part of a restore test.
type RestoreTestTarget struct {
	Name string `json:"name"`
	// Server is the scratch server (host:port), Database the scratch
	// database; both recorded before the database is created.
	Server   string `json:"server"`
	Database string `json:"database"`
	// Directory is the scratch directory of a filesystem target (absolute),
	// recorded before it is created.
	Directory string `json:"directory,omitempty"`
	// Created: the restore may have created Database or Directory;
	// Dropped: it is gone.
	Created bool `json:"created,omitempty"`
	Dropped bool `json:"dropped,omitempty"`
	// RestoreSeconds is how long the restore took.
	RestoreSeconds float64       `json:"restoreSeconds,omitempty"`
	Checks         []CheckResult `json:"checks,omitempty"`
	// Counts are what a filesystem or kubernetes target's test compared.
	Counts []CountResult `json:"counts,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// CountResult is one count a restore test compared: what the backup
// recorded and what the restore produced. It passed when they are equal.
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

// PutRestoreTest writes a restore test record.
func (c Catalog) PutRestoreTest(ctx context.Context, r RestoreTest) error {
	return c.putRecord(ctx, c.Definition.RestoreTestKey(r.ID), &r)
}

// ListRestoreTests returns the restore test records, oldest first.
func (c Catalog) ListRestoreTests(ctx context.Context) ([]RestoreTest, error) {
	return listRecords[RestoreTest](ctx, c, c.Definition.RestoreTestsDir(), layout.RestoreTest)
}

// DeleteRestoreTest removes a restore test record.
func (c Catalog) DeleteRestoreTest(ctx context.Context, id string) error {
	return c.Store.Delete(ctx, c.Definition.RestoreTestKey(id))
}
