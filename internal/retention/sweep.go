package retention

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// File names of the storage layout (docs/format.md) the sweeper must know.
const (
	// ManifestFile is written last into a backup directory: its presence is
	// what makes the directory a backup.
	ManifestFile = "manifest.json"
	// LockFile is the single-writer lease of a definition.
	LockFile = "lock"
)

// DefaultSweepGrace is used when SweepInput.Grace is not positive. It is long
// because an orphan costs only storage, while a directory swept under a
// running upload costs a backup.
const DefaultSweepGrace = 24 * time.Hour

// StoredObject is one object of a storage listing.
type StoredObject struct {
	Key     string
	ModTime time.Time
}

// BackupDir names the directory of one backup:
// <namespace>/<definition>/<backup-id>/.
type BackupDir struct {
	Namespace, Definition, BackupID string
}

func (d BackupDir) String() string {
	return d.Namespace + "/" + d.Definition + "/" + d.BackupID + "/"
}

// ObjectKey is a key parsed into its backup directory and file name.
type ObjectKey struct {
	Dir  BackupDir
	File string
}

// KeyParser parses a storage key; ok is false for keys that are not a file of
// a backup directory (the lock, anything foreign). Such keys are never swept.
type KeyParser func(key string) (k ObjectKey, ok bool)

// Layout parses keys of the layout <prefix>/<namespace>/<definition>/
// <backup-id>/<file>. It is strict: a key with more or fewer segments is not
// a backup file. That strictness is a safety net, because a prefix configured
// one level off would otherwise shift every segment and make every directory
// look like an orphan.
func Layout(prefix string) KeyParser {
	prefix = strings.Trim(prefix, "/")
	return func(key string) (ObjectKey, bool) {
		rest := key
		if prefix != "" {
			var ok bool
			if rest, ok = strings.CutPrefix(key, prefix+"/"); !ok {
				return ObjectKey{}, false
			}
		}
		parts := strings.Split(rest, "/")
		if len(parts) != 4 || slices.Contains(parts, "") {
			return ObjectKey{}, false
		}
		return ObjectKey{Dir: BackupDir{parts[0], parts[1], parts[2]}, File: parts[3]}, true
	}
}

// SweepInput is everything the orphan sweeper decides from.
type SweepInput struct {
	// Objects is the storage listing; Err reports that it may be incomplete,
	// and then nothing is swept: the missing page could hold a manifest.
	Objects []StoredObject
	Err     error
	// Committed holds the IDs of backups known to have a manifest (the
	// catalog). A directory is also committed when the listing shows its
	// manifest; either is enough to protect it.
	Committed map[string]bool
	// Parse splits keys; nil means Layout("").
	Parse KeyParser
	Now   time.Time
	// Grace is how old the newest object of a directory must be before the
	// directory counts as abandoned; it must exceed the longest upload.
	// Zero or negative means DefaultSweepGrace.
	Grace time.Duration
}

// SweepDecision is the verdict on one backup directory.
type SweepDecision struct {
	Dir    BackupDir
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
// deletes an object of a committed backup, an object whose name is the lock,
// or a key the parser does not recognise; and nothing at all when the listing
// is incomplete. A directory with one young object is left whole, because it
// is most likely an upload in progress.
func PlanSweep(in SweepInput) SweepResult {
	parse := in.Parse
	if parse == nil {
		parse = Layout("")
	}
	grace := in.Grace
	if grace <= 0 {
		grace = DefaultSweepGrace
	}

	type dirState struct {
		keys     []string
		newest   time.Time
		manifest bool
		lock     bool
	}
	dirs := make(map[BackupDir]*dirState)
	for _, o := range in.Objects {
		k, ok := parse(o.Key)
		if !ok {
			continue
		}
		st := dirs[k.Dir]
		if st == nil {
			st = &dirState{newest: o.ModTime}
			dirs[k.Dir] = st
		}
		st.keys = append(st.keys, o.Key)
		if o.ModTime.After(st.newest) {
			st.newest = o.ModTime
		}
		// Judged by base name so that a custom parser splitting at the wrong
		// depth still sees the manifest and the lock.
		switch path.Base(k.File) {
		case ManifestFile:
			st.manifest = true
		case LockFile:
			st.lock = true
		}
	}

	var res SweepResult
	for dir, st := range dirs {
		slices.Sort(st.keys)
		st.keys = slices.Compact(st.keys)
		d := SweepDecision{Dir: dir, Keys: st.keys}
		age := in.Now.Sub(st.newest)
		switch {
		case st.manifest:
			d.Reason = "committed: has " + ManifestFile
		case in.Committed[dir.BackupID]:
			d.Reason = "committed: in the catalog"
		case st.lock:
			d.Reason = "holds an object named " + LockFile + ": never swept"
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
	slices.SortFunc(res.Dirs, func(a, b SweepDecision) int { return strings.Compare(a.Dir.String(), b.Dir.String()) })
	slices.Sort(res.Delete)
	return res
}
