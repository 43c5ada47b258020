package filesystem

import (
	"errors"
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"
)

// report collects the entries that changed or vanished under the backup.
type report struct {
	log               *slog.Logger
	mu                sync.Mutex
	changed, vanished []string
}

func (r *report) changedWhileRead(rel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changed = append(r.changed, rel)
	r.log.Warn("file changed while it was read: its copy may mix old and new content", "entry", rel)
}

func (r *report) vanishedEntry(rel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.vanished = append(r.vanished, rel)
	r.log.Warn("entry vanished while the tree was read: left out", "entry", rel)
}

// summarize repeats, once, what changed under the backup.
func (r *report) summarize() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.changed) > 0 {
		r.log.Warn("the backup holds files that changed while they were read",
			"count", len(r.changed), "entries", r.changed[:min(len(r.changed), shownPaths)])
	}
	if len(r.vanished) > 0 {
		r.log.Warn("entries vanished while the tree was read and are not in the backup",
			"count", len(r.vanished), "entries", r.vanished[:min(len(r.vanished), shownPaths)])
	}
}

func changed(before, after *unix.Stat_t) bool {
	return after.Size != before.Size || after.Mtim != before.Mtim || after.Ctim != before.Ctim
}

// vanishedOr turns "no such file" into a warning: the entry was deleted
// after its directory was listed, and the archive is of a tree without it.
func (r *reader) vanishedOr(rel string, err error) error {
	if errors.Is(err, unix.ENOENT) {
		r.rep.vanishedEntry(rel)
		return nil
	}
	return err
}
