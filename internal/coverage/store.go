package coverage

import (
	"maps"
	"slices"
	"sync"
)

// Store holds the newest report of each namespace, computed one namespace
// at a time by the controller, for the metrics and the JSON report. It is
// safe for concurrent use.
type Store struct {
	mu   sync.RWMutex
	byNS map[string]*Report
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{byNS: map[string]*Report{}} }

// Change is a claim whose state differs from the one its namespace's last
// report gave it. Was is empty for a claim not reported before.
type Change struct {
	Claim ClaimReport
	Was   State
}

// Put replaces a namespace's report and returns the claims whose state
// changed. An empty report removes the namespace.
func (s *Store) Put(namespace string, r Report) []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := map[string]State{}
	if old := s.byNS[namespace]; old != nil {
		for _, c := range old.Claims {
			was[c.Name] = c.State
		}
	}
	var changes []Change
	for _, c := range r.Claims {
		if w := was[c.Name]; w != c.State {
			changes = append(changes, Change{Claim: c, Was: w})
		}
	}
	if len(r.Claims) == 0 && len(r.Definitions) == 0 {
		delete(s.byNS, namespace)
	} else {
		s.byNS[namespace] = &r
	}
	return changes
}

// Snapshot merges every namespace's report into one, sorted by namespace
// and name, totals summed, generated at the newest namespace's time.
func (s *Store) Snapshot() Report {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := Report{Totals: make(map[State]int, len(States)), Claims: []ClaimReport{}, Definitions: []DefinitionReport{}}
	for _, st := range States {
		out.Totals[st] = 0
	}
	for _, ns := range slices.Sorted(maps.Keys(s.byNS)) {
		r := s.byNS[ns]
		out.Claims = append(out.Claims, r.Claims...)
		out.Definitions = append(out.Definitions, r.Definitions...)
		for st, n := range r.Totals {
			out.Totals[st] += n
		}
		if r.GeneratedAt.After(out.GeneratedAt) {
			out.GeneratedAt = r.GeneratedAt
		}
	}
	return out
}

// each calls f with every namespace's report under the read lock: the
// metrics read the reports without copying them.
func (s *Store) each(f func(r *Report)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.byNS {
		f(r)
	}
}
