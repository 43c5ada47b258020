package manifest

import "errors"

// Summary returns a copy of m without its targets' chunk lists: what a
// listing of many backups holds in memory. A format 2 target lists about
// 100 bytes per chunk, some 80 KB per GB of dump, so a daemon that kept
// whole manifests of 50 backups of a 100 GB database would hold 400 MB.
// Everything else (ids, times, labels, sizes, sources) is kept. A summary
// is not a manifest: it does not validate, so it is never written back,
// and whoever reads chunks reads the backup in full (catalog.Get).
func (m *Manifest) Summary() *Manifest {
	s := *m
	s.summary = true
	s.Targets = make([]Target, len(m.Targets))
	for i, t := range m.Targets {
		t.Chunks = nil
		s.Targets[i] = t
	}
	return &s
}

// IsSummary reports whether m is a Summary, without its chunk lists.
func (m *Manifest) IsSummary() bool { return m.summary }

// ErrSummary is returned for a Summary where a whole manifest is needed:
// to write it, or to read or check its chunks.
var ErrSummary = errors.New("a listing's summary of the backup, without its chunk lists, where the whole manifest is needed")
