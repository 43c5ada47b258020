package retention

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/layout"
)

// DefaultSweepGrace is used when SweepInput.Grace is not positive. It is long
// because an orphan costs only storage, while a directory swept under a
// running upload costs a backup.
const DefaultSweepGrace = 24 * time.Hour

// StoredObject is one object of a storage listing, its key already parsed
// (layout.Parse): the sweeper decides over kinds of keys and never reads a
// key's text, so it cannot misread one.
type StoredObject struct {
	Key     layout.Key
	ModTime time.Time
}

// SweepInput is everything the orphan sweeper decides from.
type SweepInput struct {
	// Objects is the storage listing; Err reports that it may be incomplete,
	// and then nothing is swept: the missing page could hold a manifest.
	// Only files of backup directories (layout.Key.InBackup) are ever
	// swept; records, lock objects and foreign keys are left alone, so a
	// listing made at the wrong depth, whose keys all parse as foreign,
	// sweeps nothing.
	Objects []StoredObject
	Err     error
	// Committed holds the IDs of backups known to have a manifest (the
	// catalog). A directory is also committed when the listing shows its
	// manifest; either is enough to protect it.
	Committed map[string]bool
	Now       time.Time
	// Grace is how old the newest object of a directory must be before the
	// directory counts as abandoned; it must exceed the longest upload.
	// Zero or negative means DefaultSweepGrace.
	Grace time.Duration
}

// SweepDecision is the verdict on one backup directory.
type SweepDecision struct {
	Dir    layout.Backup
	Keys   []string // sorted
	Delete bool
	Reason string
}

// SweepResult lists every backup directory seen, sorted, and the keys to
// delete, sorted.
type SweepResult struct {
	Dirs   []SweepDecision
	Delete []string
}

// PlanSweep finds orphaned upload directories: backup directories without a
// manifest whose objects are all older than the grace period. It never
// deletes an object of a committed backup or a key that is not a file of a
// backup directory; and nothing at all when the listing is incomplete. A
// directory with one young object is left whole, because it is most likely
// an upload in progress.
func PlanSweep(in SweepInput) SweepResult {
	grace := in.Grace
	if grace <= 0 {
		grace = DefaultSweepGrace
	}
	var res SweepResult
	for dir, st := range backupDirs(in.Objects) {
		d := SweepDecision{Dir: dir, Keys: st.keys}
		age := in.Now.Sub(st.newest)
		switch {
		case st.manifest:
			d.Reason = "committed: has " + layout.ManifestFile
		case in.Committed[dir.ID]:
			d.Reason = "committed: in the catalog"
		case age < grace:
			d.Reason = fmt.Sprintf("no manifest, but newest object is %v old, within grace %v: upload may be running", age, grace)
		case in.Err != nil:
			d.Reason = fmt.Sprintf("listing incomplete, nothing is swept: %v", in.Err)
		default:
			d.Delete = true
			d.Reason = fmt.Sprintf("orphan: no manifest, newest object is %v old (grace %v)", age, grace)
			res.Delete = append(res.Delete, st.keys...)
		}
		res.Dirs = append(res.Dirs, d)
	}
	slices.SortFunc(res.Dirs, func(a, b SweepDecision) int { return strings.Compare(a.Dir.Dir(), b.Dir.Dir()) })
	slices.Sort(res.Delete)
	return res
}

// dirState is what the listing shows of one backup directory.
type dirState struct {
	keys     []string // sorted, without duplicates
	newest   time.Time
	manifest bool
}

// backupDirs groups the files of backup directories by directory; every
// other key is dropped here, which is what makes it unsweepable.
func backupDirs(objs []StoredObject) map[layout.Backup]*dirState {
	dirs := make(map[layout.Backup]*dirState)
	for _, o := range objs {
		if !o.Key.InBackup() {
			continue
		}
		st := dirs[o.Key.Backup()]
		if st == nil {
			st = &dirState{newest: o.ModTime}
			dirs[o.Key.Backup()] = st
		}
		st.keys = append(st.keys, o.Key.String())
		if o.ModTime.After(st.newest) {
			st.newest = o.ModTime
		}
		st.manifest = st.manifest || o.Key.Kind == layout.Manifest
	}
	for _, st := range dirs {
		slices.Sort(st.keys)
		st.keys = slices.Compact(st.keys)
	}
	return dirs
}
