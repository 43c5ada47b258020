// Package runnerapi is the runner daemon's HTTP API: health and readiness
// probes, Prometheus metrics, and the /v1 resources the Kubernetes controller
// uses to mirror backups and forward on-demand backups and restores.
//
// The JSON types in this file are the wire contract; docs/openapi.yaml
// describes them and a test keeps the two in step. The package knows nothing
// of how backups are taken: the daemon provides a Service.
package runnerapi

import (
	"context"
	"fmt"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/progress"
)

// Service is what the API needs from the daemon. Implementations must be safe
// for concurrent use: every request calls it from its own goroutine. The ctx
// of a call is the HTTP request's: it bounds the call, never the backup or
// restore the call starts.
type Service interface {
	// Backups lists committed backups and recent failed or in-flight
	// attempts, oldest first.
	Backups(ctx context.Context) ([]Backup, error)
	// Backup returns one backup or attempt; an unknown id is ErrNotFound.
	Backup(ctx context.Context, id string) (Backup, error)
	// TriggerBackup starts an on-demand backup set now and returns its
	// Pending or Running record without waiting for it. While another
	// backup runs it returns ErrBusy. A request whose RequestKey the
	// service has seen returns that backup's record as it is now (in
	// flight, committed or failed), starts nothing and is never ErrBusy.
	TriggerBackup(ctx context.Context, req BackupRequest) (Backup, error)
	// SetLabel adds (set) or removes a user label of a committed backup and
	// returns the backup as it is now. An unknown backup is ErrNotFound, a
	// label that cannot be set by hand ErrInvalid; a runner that does not
	// hold the definition's lease returns ErrBusy.
	SetLabel(ctx context.Context, id, label string, set bool) (Backup, error)
	// StartRestore starts a restore and returns its record without waiting
	// for it. A request the service cannot carry out (unknown target, a
	// backup that does not exist) is an error wrapping ErrInvalid; while a
	// backup or restore runs it may return ErrBusy. A RequestKey the
	// service has seen returns that restore's record, as TriggerBackup does.
	StartRestore(ctx context.Context, req RestoreRequest) (Restore, error)
	// Restore returns one restore; an unknown id is ErrNotFound.
	Restore(ctx context.Context, id string) (Restore, error)
	// Ready returns nil when the config is loaded and storage is reachable;
	// otherwise, ideally, a *NotReadyError saying why (GET /v1/readiness
	// tells its reason and message to the controller).
	Ready(ctx context.Context) error
	// VolumePushes lists the volume targets of running backups that wait
	// for a reader pod to push their tar stream.
	VolumePushes(ctx context.Context) ([]VolumePush, error)
}

// VolumePush asks for a pod in the definition's namespace. Direction
// "backup": a reader mounts the PersistentVolumeClaim at Path read-only and
// PUTs the tar of Path to URL + "volume.tar". Direction "restore": a writer
// mounts it read-write, GETs URL + "volume.tar", extracts it into Path
// (replacing what is there only with Clean) and PUTs its outcome to URL +
// "volume.result". URL holds the session's token: treat it as a secret.
type VolumePush struct {
	Direction             string   `json:"direction"`
	Clean                 bool     `json:"clean,omitempty"`
	BackupID              string   `json:"backupId"`
	Target                string   `json:"target"`
	PersistentVolumeClaim string   `json:"persistentVolumeClaim"`
	Path                  string   `json:"path"`
	Excludes              []string `json:"excludes,omitempty"`
	URL                   string   `json:"url"`
}

// Directions of a VolumePush.
const (
	DirectionBackup  = "backup"
	DirectionRestore = "restore"
)

// VolumePushList is the body of GET /v1/volume-pushes.
type VolumePushList struct {
	Items []VolumePush `json:"items"`
}

// TokenSecret and TokenKey name the Secret of the runner's config that holds
// the API's bearer token: the controller renders it, the runner reads it.
const (
	TokenSecret = "coffer-api-token"
	TokenKey    = "token"
)

// Backup is one backup set, committed or attempted.
type Backup struct {
	// ID sorts by time: 20261121T103000Z-k3f9.
	ID     string      `json:"id"`
	Status phase.Phase `json:"status"`
	// StartTime is zero (omitted) while Pending.
	StartTime time.Time `json:"startTime,omitzero"`
	// EndTime is zero (omitted) until the backup is Completed or Failed.
	EndTime time.Time `json:"endTime,omitzero"`
	// Labels are the labels the backup holds: the time labels and
	// "manual" retention gives it under the definition's policy, and user
	// labels such as "pinned".
	Labels []string `json:"labels,omitempty"`
	// Trigger is "schedule" or "manual" (on demand); absent for failed
	// attempts.
	Trigger string `json:"trigger,omitempty"`
	// Error says why a Failed backup failed; empty otherwise.
	Error string `json:"error,omitempty"`
	// Targets are the stored objects; empty until Completed.
	Targets []BackupTarget `json:"targets,omitempty"`
	// Offsite is Copied or Waiting when the storage has an offsite copy
	// (OffsiteCopied, OffsiteWaiting); absent otherwise, and for backups
	// the offsite copy would not keep.
	Offsite string `json:"offsite,omitempty"`
	// ProvenRestorableTime is when a restore test last restored this
	// backup and its checks passed.
	ProvenRestorableTime time.Time `json:"provenRestorableTime,omitzero"`
	// RequestKey is the key of the request that started the backup, if it
	// had one (BackupRequest.RequestKey).
	RequestKey string `json:"requestKey,omitempty"`
	// Progress counts each target's bytes while the backup runs; absent
	// once it has ended (Targets has the final sizes).
	Progress []TargetProgress `json:"progress,omitempty"`
}

// TargetProgress is one target's bytes so far in a running backup or
// restore, counted live as they stream. The API gives no rate: a client
// derives it from two polls, or as bytes over the time since StartTime.
type TargetProgress struct {
	Name  string            `json:"name"`
	Phase phase.TargetPhase `json:"phase"`
	// PlainBytes: read from the engine (backup) or written to the
	// destination (restore).
	PlainBytes int64 `json:"plainBytes"`
	// StoredBytes: uploaded to storage (backup; of a chunked backup only
	// the new chunks) or downloaded from it (restore).
	StoredBytes int64 `json:"storedBytes"`
	// StartTime is absent while the target waits.
	StartTime time.Time `json:"startTime,omitzero"`
}

// ProgressOf is the API's view of a progress snapshot.
func ProgressOf(snap []progress.Snapshot) []TargetProgress {
	var out []TargetProgress
	for _, s := range snap {
		out = append(out, TargetProgress{Name: s.Name, Phase: s.Phase, PlainBytes: s.PlainBytes,
			StoredBytes: s.StoredBytes, StartTime: s.StartTime})
	}
	return out
}

// BackupTarget is one target's stored object in a backup.
type BackupTarget struct {
	Name   string `json:"name"`
	Engine string `json:"engine"`
	// Size and SHA256 are of the stored bytes (compressed, maybe encrypted).
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// PlainSize is the size of the dump as the engine produced it.
	PlainSize int64     `json:"plainSize"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`
	// ServerVersion is the database server's version as the engine saw
	// it; ToolVersion the dump tool's (pg_dump 17.2). Either is absent
	// when the engine has none.
	ServerVersion string `json:"serverVersion,omitempty"`
	ToolVersion   string `json:"toolVersion,omitempty"`
}

// BackupRequest is the optional body of POST /v1/backups.
type BackupRequest struct {
	// Pinned commits the backup with the "pinned" label.
	Pinned bool `json:"pinned,omitempty"`
	// RequestKey makes the request idempotent: a request with a key the
	// runner has seen returns the backup the first one started (in
	// flight, committed or failed) and starts nothing. See ValidRequestKey.
	RequestKey string `json:"requestKey,omitempty"`
}

// Validate checks the request. Its errors wrap ErrInvalid.
func (r BackupRequest) Validate() error {
	return ValidRequestKey(r.RequestKey)
}

// BackupList is the body of GET /v1/backups. An object rather than a bare
// array so fields (paging) can be added without breaking clients.
type BackupList struct {
	Items []Backup `json:"items"`
}

// Latest names the newest Completed backup in a RestoreRequest.
const Latest = "latest"

// RestoreRequest is the body of POST /v1/restores.
type RestoreRequest struct {
	// BackupID is a backup id or "latest".
	BackupID string `json:"backupId"`
	// Target restores only this target; empty restores every target.
	Target string `json:"target,omitempty"`
	// IntoDatabase restores into another database; it needs Target.
	IntoDatabase string `json:"intoDatabase,omitempty"`
	// Clean allows overwriting a database that already has tables.
	Clean bool `json:"clean,omitempty"`
	// IgnoreDatabaseProperties restores into an existing database whose
	// encoding or collation differ from the backed-up database's.
	IgnoreDatabaseProperties bool `json:"ignoreDatabaseProperties,omitempty"`
	// From is the storage to read: "primary" (the default) or "offsite".
	From string `json:"from,omitempty"`
	// Kubernetes tunes the restore of kubernetes targets: namespace
	// mapping, filters, existing objects, dry run.
	Kubernetes *v1alpha1.KubernetesRestoreOptions `json:"kubernetes,omitempty"`
	// RequestKey makes the request idempotent, as BackupRequest.RequestKey
	// does: a key the runner has seen returns that restore's record.
	RequestKey string `json:"requestKey,omitempty"`
}

// Storages a RestoreRequest may read from.
const (
	FromPrimary = "primary"
	FromOffsite = "offsite"
)

// Validate checks what can be checked without the catalog. Its errors wrap
// ErrInvalid.
func (r RestoreRequest) Validate() error {
	switch {
	case r.BackupID == "":
		return fmt.Errorf("%w: backupId is required", ErrInvalid)
	case r.BackupID != Latest && !layout.ValidID(r.BackupID):
		return fmt.Errorf("%w: backupId %q is neither %q nor a backup id", ErrInvalid, r.BackupID, Latest)
	case r.IntoDatabase != "" && r.Target == "":
		return fmt.Errorf("%w: intoDatabase needs a target", ErrInvalid)
	case r.From != "" && r.From != FromPrimary && r.From != FromOffsite:
		return fmt.Errorf("%w: from %q is neither %q nor %q", ErrInvalid, r.From, FromPrimary, FromOffsite)
	}
	return ValidRequestKey(r.RequestKey)
}

// MaxRequestKey bounds a request key: it is stored in every manifest,
// failure and restore record. A Kubernetes uid (36 characters) fits.
const MaxRequestKey = 128

// ValidRequestKey checks a request's requestKey: empty (no key), or at most
// MaxRequestKey printable ASCII characters without spaces. Its errors wrap
// ErrInvalid and name the field; a bad key is not echoed whole.
func ValidRequestKey(key string) error {
	if len(key) > MaxRequestKey {
		return fmt.Errorf("%w: requestKey is %d bytes long; at most %d are allowed", ErrInvalid, len(key), MaxRequestKey)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: requestKey has byte 0x%02x at offset %d: only printable ASCII without spaces is allowed", ErrInvalid, c, i)
		}
	}
	return nil
}

// Restore is one restore run.
type Restore struct {
	ID string `json:"id"`
	// BackupID is the backup being restored: "latest" is resolved to an id
	// once the restore has started.
	BackupID  string      `json:"backupId"`
	Status    phase.Phase `json:"status"`
	StartTime time.Time   `json:"startTime,omitzero"`
	EndTime   time.Time   `json:"endTime,omitzero"`
	// Error says why a Failed or PartiallyFailed restore failed; empty otherwise.
	Error string `json:"error,omitempty"`
	// FailedItems are the first items (at most 50) a PartiallyFailed
	// restore could not restore; FailedItemCount counts them all.
	FailedItems     []engine.FailedItem `json:"failedItems,omitempty"`
	FailedItemCount int                 `json:"failedItemCount,omitempty"`
	// RequestKey is the key of the request that started the restore, if
	// it had one (RestoreRequest.RequestKey).
	RequestKey string `json:"requestKey,omitempty"`
	// Progress counts each restored target's bytes while the restore
	// runs; absent once it has ended.
	Progress []TargetProgress `json:"progress,omitempty"`
}

// errorBody is every error response: {"error": "..."}.
type errorBody struct {
	Error string `json:"error"`
}

// BackupFromManifest is the API record of a committed backup.
func BackupFromManifest(m *manifest.Manifest) Backup {
	b := Backup{
		ID:         m.ID,
		Status:     m.Status,
		StartTime:  m.StartTime,
		EndTime:    m.EndTime,
		Labels:     m.Labels,
		Trigger:    string(manifest.TriggerSchedule),
		RequestKey: m.RequestKey,
	}
	if m.Manual() {
		b.Trigger = string(manifest.TriggerManual)
	}
	for _, t := range m.Targets {
		b.Targets = append(b.Targets, BackupTarget{
			Name:          t.Name,
			Engine:        t.Engine,
			Size:          t.Size,
			SHA256:        t.SHA256,
			PlainSize:     t.PlainSize,
			StartTime:     t.StartTime,
			EndTime:       t.EndTime,
			ServerVersion: t.ServerVersion,
			ToolVersion:   t.ToolVersion,
		})
	}
	return b
}
