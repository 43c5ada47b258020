package retention

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

// entry is one backup after duplicate IDs were merged.
type entry struct {
	Backup
	// problem, when set, keeps the backup unconditionally and takes it out of
	// labelling and counting: Plan cannot reason about a record it cannot
	// identify.
	problem string
}

// normalize merges records with the same ID and sorts by start, then ID, so
// that nothing downstream depends on input order. Records that agree on start
// and status are one backup listed twice (overlapping pages) and merge their
// user labels; records that disagree are a conflict nobody can resolve here.
//
// Long histories make this the hot path of Plan, so it copies each record
// once and sorts compact keys rather than whole records.
func normalize(in []Backup) ([]entry, []string) {
	byID := make(map[string]int32, len(in))
	first := make([]int32, 0, len(in)) // input index of each distinct ID's first record
	var merged map[int32]*entry        // by distinct index; only IDs listed twice
	for i := range in {
		b := &in[i]
		u, seen := byID[b.ID]
		if !seen {
			byID[b.ID] = int32(len(first))
			first = append(first, int32(i))
			continue
		}
		m := merged[u]
		if m == nil {
			if merged == nil {
				merged = make(map[int32]*entry)
			}
			m = &entry{Backup: in[first[u]]}
			m.UserLabels = slices.Clone(m.UserLabels)
			merged[u] = m
		}
		if !m.Start.Equal(b.Start) || m.Status != b.Status || m.Manual != b.Manual {
			m.problem = "duplicate ID with conflicting records: kept until resolved"
			m.Manual = m.Manual || b.Manual
			// The representative must not depend on input order.
			if b.Start.Before(m.Start) || (b.Start.Equal(m.Start) && b.Status < m.Status) {
				m.Start, m.Status = b.Start, b.Status
			}
		}
		m.UserLabels = append(m.UserLabels, b.UserLabels...)
	}
	record := func(u int32) *Backup {
		if m := merged[u]; m != nil {
			return &m.Backup
		}
		return &in[first[u]]
	}

	// Keys hold no pointers, so sorting them costs the garbage collector
	// nothing; IDs are looked up only to break ties.
	type key struct {
		sec  int64
		nsec int32
		u    int32
	}
	keys := make([]key, len(first))
	for u := range first {
		b := record(int32(u))
		keys[u] = key{b.Start.Unix(), int32(b.Start.Nanosecond()), int32(u)}
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.sec != b.sec:
			return cmp.Compare(a.sec, b.sec)
		case a.nsec != b.nsec:
			return cmp.Compare(a.nsec, b.nsec)
		}
		return strings.Compare(record(a.u).ID, record(b.u).ID)
	})

	entries := make([]entry, len(keys))
	var warnings []string
	for i, k := range keys {
		e := &entries[i]
		if m := merged[k.u]; m != nil {
			*e = *m
		} else {
			e.Backup = in[first[k.u]]
		}
		e.UserLabels = userLabels(e.UserLabels)
		if e.ID == "" {
			e.problem = "no ID: cannot be addressed, kept"
		}
		if e.problem != "" {
			warnings = append(warnings, fmt.Sprintf("backup %q: %s", e.ID, e.problem))
		}
	}
	return entries, warnings
}

// userLabels drops reserved label names, sorts and de-duplicates.
func userLabels(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, l := range in {
		if l != "" && !Reserved(l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// bucketKeys returns, per time label, a key naming the calendar bucket t
// falls in, in loc. Keys of one label order like their buckets.
//
// The hourly key is the absolute start of the local hour, not its wall-clock
// reading: when the clocks fall back, 02:00 CEST and 02:00 CET are different
// hours and each gets its own hourly backup. Days, weeks, months and years are
// calendar dates, so they follow the wall clock.
func bucketKeys(t time.Time, loc *time.Location) [numLabels]int64 {
	// One zone lookup per backup; the wall clock is then read from a UTC
	// time shifted by the offset, which needs no further lookups.
	_, off := t.In(loc).Zone()
	wall := t.Add(time.Duration(off) * time.Second).UTC()
	y, m, d := wall.Date()
	wy, ww := wall.ISOWeek()
	return [numLabels]int64{
		t.Unix() - int64(wall.Minute()*60+wall.Second()),
		int64(y)*10000 + int64(m)*100 + int64(d),
		int64(wy)*100 + int64(ww),
		int64(y)*100 + int64(m),
		int64(y),
	}
}

// holder is the first Completed backup of one bucket.
type holder struct {
	key   int64
	entry int // index into the sorted entries
}

// earn finds, for each label with want[label] set, the holder of every
// bucket, newest bucket first. Entries must be sorted by start: the first
// Completed entry seen in a bucket is its holder. Manual entries do not take
// part: they have their own rule. Nor do entries with a problem (they are
// kept anyway, and the next backup of their bucket holds the label in their
// place, which only ever keeps more).
func earn(entries []entry, loc *time.Location, want [numLabels]bool) [numLabels][]holder {
	var (
		out [numLabels][]holder
		// In start order, bucket keys only grow, so "new bucket" is "key
		// differs from the last one" and no set is needed. Only zones whose
		// wall clock steps back across a bucket boundary (a transition at
		// midnight, or in mid-hour) break that; from the first step back,
		// seen remembers every bucket.
		seen [numLabels]map[int64]struct{}
	)
	for i := range entries {
		e := &entries[i]
		if e.Status != phase.Completed || e.problem != "" || e.Manual {
			continue
		}
		keys := bucketKeys(e.Start, loc)
		for l, k := range keys {
			if !want[l] {
				continue
			}
			hs := out[l]
			switch {
			case len(hs) == 0:
			case seen[l] != nil:
				if _, dup := seen[l][k]; dup {
					continue
				}
			case k == hs[len(hs)-1].key:
				continue
			case k < hs[len(hs)-1].key:
				seen[l] = make(map[int64]struct{}, len(hs))
				for _, h := range hs {
					seen[l][h.key] = struct{}{}
				}
				if _, dup := seen[l][k]; dup {
					continue
				}
			}
			if seen[l] != nil {
				seen[l][k] = struct{}{}
			}
			out[l] = append(out[l], holder{key: k, entry: i})
		}
	}
	for l := range out {
		if seen[l] == nil {
			slices.Reverse(out[l]) // already ascending
			continue
		}
		slices.SortFunc(out[l], func(a, b holder) int { return cmp.Compare(b.key, a.key) })
	}
	return out
}

// Labels returns the time labels each Completed backup earns in loc (nil
// means UTC), keyed by backup ID, whatever the keep-counts of a policy; IDs
// that earn none (manual backups among them) are absent. It shows why a backup is or is not a bucket's
// first, and is what a manifest's labels are computed from.
func Labels(backups []Backup, loc *time.Location) map[string][]string {
	entries, _ := normalize(backups)
	all := [numLabels]bool{true, true, true, true, true}
	holders := earn(entries, Policy{Location: loc}.location(), all)
	out := make(map[string][]string)
	for l, hs := range holders {
		for _, h := range hs {
			id := entries[h.entry].ID
			out[id] = append(out[id], timeLabels[l])
		}
	}
	return out
}
