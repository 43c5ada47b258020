package retention

import (
	"fmt"
	"strconv"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

// Plan decides, for every backup of the listing, whether to keep or delete
// it, and why. It is pure: the same listing, policy and now give the same
// result, whatever the order of the listing.
//
// A backup is kept if any of these holds, and deleted otherwise:
//   - it starts after now (the clock was changed; reported in Warnings);
//   - it started less than the policy's InFlightWindow before now;
//   - it carries a user label;
//   - it holds a time label within that label's keep-count;
//   - it was taken on demand and is one of the newest Policy.Manual of those;
//   - it is the newest Completed backup (even if the policy keeps nothing);
//   - it failed and is one of the newest KeepFailed failed backups;
//   - its status is unknown, its ID is empty, or its ID is listed twice with
//     conflicting records.
//
// If the listing reports an error, nothing is deleted.
//
// Plan sorts once and otherwise works in linear time, so it stays fast for
// definitions with very long histories.
func Plan(l Listing, p Policy, now time.Time) Result {
	entries, warnings := normalize(l.Backups)
	j := newJudge(entries, p, now)
	j.warnings = warnings
	// Reasons and labels of all decisions share two backing arrays, cut
	// into capped slices at the end: one allocation each instead of one per
	// backup.
	roff := make([]int32, len(entries)+1)
	loff := make([]int32, len(entries)+1)
	keep := make([]bool, len(entries))
	nKeep := 0
	for i := range entries {
		roff[i], loff[i] = int32(len(j.reasons)), int32(len(j.labels))
		if keep[i] = j.judge(i, l.Err); keep[i] {
			nKeep++
		}
	}
	roff[len(entries)], loff[len(entries)] = int32(len(j.reasons)), int32(len(j.labels))
	if l.Err != nil {
		j.warnings = append(j.warnings, fmt.Sprintf("listing incomplete, nothing is deleted: %v", l.Err))
	}

	res := Result{
		Keep:     make([]Decision, nKeep),
		Delete:   make([]Decision, len(entries)-nKeep),
		Warnings: j.warnings,
	}
	k, del := 0, 0
	for i := range entries {
		var d *Decision
		if keep[i] {
			d, k = &res.Keep[k], k+1
		} else {
			d, del = &res.Delete[del], del+1
		}
		e := &entries[i]
		d.ID, d.Start, d.Status, d.Keep = e.ID, e.Start, e.Status, keep[i]
		d.Reasons = j.reasons[roff[i]:roff[i+1]:roff[i+1]]
		if loff[i] < loff[i+1] {
			d.Labels = j.labels[loff[i]:loff[i+1]:loff[i+1]]
		}
	}
	return res
}

// judge holds what Plan knows about the sorted entries before it decides on
// each: the label ranks, the newest Completed and the failures kept.
type judge struct {
	entries    []entry
	now        time.Time
	window     time.Duration
	keepFailed int
	keepManual int
	counts     [numLabels]int
	// Only the top of each ranking matters, and that is small whatever the
	// history's length; so are the sets built from it.
	held            map[int][numLabels]int // entry -> rank within each time label, 1-based
	manual          map[int]int            // entry -> rank among manual backups, 1-based
	newestCompleted int
	keptFailed      map[int]bool
	reasons, labels []string
	warnings        []string
}

func newJudge(entries []entry, p Policy, now time.Time) *judge {
	j := &judge{entries: entries, now: now, window: p.inFlightWindow(), keepFailed: p.keepFailed(),
		keepManual: p.keepManual(), counts: p.counts(), reasons: make([]string, 0, len(entries)+64)}
	var want [numLabels]bool
	for i, c := range j.counts {
		want[i] = c > 0
	}
	holders := earn(entries, p.location(), want)
	j.held = make(map[int][numLabels]int)
	for l, hs := range holders {
		for rank, h := range hs[:min(len(hs), j.counts[l])] {
			r := j.held[h.entry]
			r[l] = rank + 1
			j.held[h.entry] = r
		}
	}
	j.rankNewest()
	return j
}

// rankNewest walks from the newest entry back: the newest Completed, the
// newest failures and the newest manual backups.
func (j *judge) rankNewest() {
	j.newestCompleted = -1
	j.keptFailed = make(map[int]bool, j.keepFailed)
	j.manual = make(map[int]int, j.keepManual)
	for i := len(j.entries) - 1; i >= 0; i-- {
		e := &j.entries[i]
		if e.problem != "" {
			continue
		}
		// Manual backups rank like time labels, future ones included: a
		// clock running ahead must not make the rule keep fewer.
		if e.Manual && e.Status == phase.Completed && len(j.manual) < j.keepManual {
			j.manual[i] = len(j.manual) + 1
		}
		// "Newest" counts only what is not in the future: a backup stamped
		// by a clock running ahead is kept anyway, and must not stand in for
		// the real newest one.
		if e.Start.After(j.now) {
			continue
		}
		switch {
		case e.Status == phase.Completed:
			if j.newestCompleted < 0 {
				j.newestCompleted = i
			}
		case countsAsFailed(e.Status, j.now.Sub(e.Start), j.window) && len(j.keptFailed) < j.keepFailed:
			j.keptFailed[i] = true
		}
	}
}

// judge appends entry i's labels and reasons and reports whether to keep it.
func (j *judge) judge(i int, listErr error) bool {
	e := &j.entries[i]
	n := len(j.reasons)
	age := j.now.Sub(e.Start)
	if e.problem != "" {
		j.reasons = append(j.reasons, e.problem)
	}
	if age < 0 {
		j.reasons = append(j.reasons, fmt.Sprintf("in the future: starts %v after now (clock changed?)", -age))
		j.warnings = append(j.warnings, fmt.Sprintf("backup %q starts %v after now: was the clock changed?", e.ID, -age))
	} else if age < j.window {
		j.reasons = append(j.reasons, "in flight: younger than "+j.window.String())
	}
	for _, u := range e.UserLabels {
		if u == LabelPinned {
			j.reasons = append(j.reasons, "pinned")
		} else {
			j.reasons = append(j.reasons, "pinned by user label "+strconv.Quote(u))
		}
	}
	if ranks, ok := j.held[i]; ok {
		for l, rank := range ranks {
			if rank > 0 {
				j.labels = append(j.labels, timeLabels[l])
				j.reasons = append(j.reasons, timeLabels[l]+" #"+strconv.Itoa(rank)+" of "+strconv.Itoa(j.counts[l]))
			}
		}
	}
	if rank, ok := j.manual[i]; ok {
		j.labels = append(j.labels, LabelManual)
		j.reasons = append(j.reasons, LabelManual+" #"+strconv.Itoa(rank)+" of "+strconv.Itoa(j.keepManual))
	}
	j.labels = append(j.labels, e.UserLabels...)
	if i == j.newestCompleted {
		j.reasons = append(j.reasons, "newest completed backup")
	}
	if j.keptFailed[i] {
		j.reasons = append(j.reasons, fmt.Sprintf("%s: one of the newest %d failed", failure(e.Status), j.keepFailed))
	}
	if !e.Status.Known() && e.problem == "" {
		j.reasons = append(j.reasons, "unknown status "+strconv.Quote(string(e.Status)))
	}
	switch {
	case len(j.reasons) > n:
		return true
	case listErr != nil:
		j.reasons = append(j.reasons, "listing incomplete: nothing is deleted (would be: "+deletion(e, j.now, j.window, j.keepFailed)+")")
		return true
	}
	j.reasons = append(j.reasons, deletion(e, j.now, j.window, j.keepFailed))
	return false
}

// deletion is the reason a backup without any reason to keep it goes.
func deletion(e *entry, now time.Time, window time.Duration, keepFailed int) string {
	if countsAsFailed(e.Status, now.Sub(e.Start), window) {
		return fmt.Sprintf("%s: not one of the newest %d failed", failure(e.Status), keepFailed)
	}
	return "no label left"
}

// failure names a failed backup's state in reasons.
func failure(s phase.Phase) string {
	if s == phase.Failed {
		return "failed"
	}
	return fmt.Sprintf("stale %s (counted as failed)", s)
}

// countsAsFailed reports whether a backup of this status and age is a
// failure: Failed ones, and unfinished ones older than the in-flight window,
// whose runner evidently died before it could record the outcome.
func countsAsFailed(s phase.Phase, age, window time.Duration) bool {
	switch s {
	case phase.Failed:
		return true
	case phase.Pending, phase.Running:
		return age >= window
	}
	return false
}
