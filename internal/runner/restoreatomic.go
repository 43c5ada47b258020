package runner

import (
	"errors"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/storage"
)

// findAtomicRestores marks the steps whose existing destination needs no
// verification pass before it is touched: the engine restores all or
// nothing (engine.Atomic), and every byte is checked before the engine
// reads it (checkedBeforeUse). A failed check then kills the engine's tool
// before its input ends, which rolls the whole restore back: the
// destination is left as it was, and the backup was read once.
func (r *Runner) findAtomicRestores(m *manifest.Manifest, plan []restoreStep, req RestoreRequest) {
	for i := range plan {
		p := &plan[i]
		a, ok := p.engine.(engine.Atomic)
		p.atomic = ok && a.RestoresAtomically(p.target, req.engineOptions(*p)) && r.checkedBeforeUse(m, p.rec)
	}
}

// checkedBeforeUse reports whether the restore pipeline checks every byte
// of target t before passing it on. A format 2 reader checks each chunk in
// full (stored and plain size, age, zstd and, with the dedup key, its
// name) before handing it over; what it leaves for the end of the stream
// is the whole dump's SHA-256, which only backups cut before FastCDC
// record, and which their chunk names cover when the key that named them
// is at hand. A format 1 stream's checksums are only known at its end,
// after the engine has read most of it.
func (r *Runner) checkedBeforeUse(m *manifest.Manifest, t manifest.Target) bool {
	if m.FormatVersion != manifest.FormatChunked {
		return false
	}
	if t.PlainSHA256 == "" {
		return true
	}
	key, err := r.keyFor(m)
	return err == nil && key != nil
}

// checkFailed reports whether err is a check of the backup failing (a
// damaged, undecryptable or missing object or chunk), which an all-or-nothing
// restore undoes; the engine's own errors say what they left.
func checkFailed(err error) bool {
	return errors.Is(err, pipeline.ErrIntegrity) || errors.Is(err, pipeline.ErrDecrypt) || errors.Is(err, storage.ErrNotFound)
}
