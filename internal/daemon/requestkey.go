package daemon

import (
	"context"
	"fmt"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// Request keys make forwarding idempotent: a controller that asked for a
// backup or restore and lost the answer (killed, or its status write
// failed) asks again with the same key and gets the first request's record.
// A key lives where its record lives — the backup in flight, the committed
// manifest, the failure record, the restore record — and nowhere else, so
// memory stays bounded and a key is forgotten with its record (retention,
// the pruning of failure and restore records). Keyed requests are
// serialised by jobs.keyMu, so a lookup and the start it allows are one
// step: two requests with one key never both start.

// runningWithKey is the backup in flight if key started it.
func (j *jobs) runningWithKey(key string) (runnerapi.Backup, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running != nil && j.running.RequestKey == key {
		return *j.running, true
	}
	return runnerapi.Backup{}, false
}

// backupWithKey finds the committed backup or failure record key started.
// A listing that failed, even in part, is an error when the key is not
// found: the key might be in what could not be read, and a second backup
// is what the key exists to prevent.
func (j *jobs) backupWithKey(ctx context.Context, key string) (runnerapi.Backup, bool, error) {
	all, err := j.Backups(ctx)
	for _, b := range all {
		if b.RequestKey == key {
			return b, true, nil
		}
	}
	if err != nil {
		return runnerapi.Backup{}, false, fmt.Errorf("cannot tell whether requestKey %s already started a backup, so none is started: %w", key, err)
	}
	return runnerapi.Backup{}, false, nil
}

// recentRestoreWithKey is this process's restore record key started.
func (j *jobs) recentRestoreWithKey(key string) (catalog.Restore, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, r := range j.restores {
		if r.RequestKey == key {
			return r, true
		}
	}
	return catalog.Restore{}, false
}

// storedRestoreWithKey finds the stored restore record key started; a
// failed listing is an error, as in backupWithKey.
func (j *jobs) storedRestoreWithKey(ctx context.Context, key string) (catalog.Restore, bool, error) {
	stored, err := j.d.runner.Catalog().ListRestores(ctx)
	for _, r := range stored {
		if r.RequestKey == key {
			return r, true, nil
		}
	}
	if err != nil {
		return catalog.Restore{}, false, fmt.Errorf("cannot tell whether requestKey %s already started a restore, so none is started: %w", key, err)
	}
	return catalog.Restore{}, false, nil
}
