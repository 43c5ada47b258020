package retention

import (
	"fmt"
	"strconv"
	"time"
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
	counts := p.counts()
	var want [numLabels]bool
	for i, c := range counts {
		want[i] = c > 0
	}
	holders := earn(entries, p.location(), want)
	window := p.inFlightWindow()
	keepFailed := p.keepFailed()

	// Only the top of each ranking matters, and that is small whatever the
	// history's length; so are the sets built from it.
	held := make(map[int][numLabels]int) // entry -> rank within each label, 1-based
	for l, hs := range holders {
		for rank, h := range hs[:min(len(hs), counts[l])] {
			r := held[h.entry]
			r[l] = rank + 1
			held[h.entry] = r
		}
	}
	// "Newest" counts only what is not in the future: a backup stamped by a
	// clock running ahead is kept anyway, and must not stand in for the real
	// newest one.
	newestCompleted := -1
	keptFailed := make(map[int]bool, keepFailed)
	for i := len(entries) - 1; i >= 0 && (newestCompleted < 0 || len(keptFailed) < keepFailed); i-- {
		e := &entries[i]
		if e.problem != "" || e.Start.After(now) {
			continue
		}
		switch {
		case e.Status == StatusCompleted:
			if newestCompleted < 0 {
				newestCompleted = i
			}
		case countsAsFailed(e.Status, now.Sub(e.Start), window) && len(keptFailed) < keepFailed:
			keptFailed[i] = true
		}
	}

	// Reasons and labels of all decisions share two backing arrays, cut
	// into capped slices at the end: one allocation each instead of one per
	// backup.
	var (
		reasons = make([]string, 0, len(entries)+64)
		labels  []string
		roff    = make([]int32, len(entries)+1)
		loff    = make([]int32, len(entries)+1)
		keep    = make([]bool, len(entries))
		nKeep   int
	)
	for i := range entries {
		e := &entries[i]
		roff[i], loff[i] = int32(len(reasons)), int32(len(labels))
		n := len(reasons)
		age := now.Sub(e.Start)

		if e.problem != "" {
			reasons = append(reasons, e.problem)
		}
		if age < 0 {
			reasons = append(reasons, fmt.Sprintf("in the future: starts %v after now (clock changed?)", -age))
			warnings = append(warnings, fmt.Sprintf("backup %q starts %v after now: was the clock changed?", e.ID, -age))
		} else if age < window {
			reasons = append(reasons, "in flight: younger than "+window.String())
		}
		for _, u := range e.UserLabels {
			if u == LabelPinned {
				reasons = append(reasons, "pinned")
			} else {
				reasons = append(reasons, "pinned by user label "+strconv.Quote(u))
			}
		}
		if ranks, ok := held[i]; ok {
			for l, rank := range ranks {
				if rank > 0 {
					labels = append(labels, timeLabels[l])
					reasons = append(reasons, timeLabels[l]+" #"+strconv.Itoa(rank)+" of "+strconv.Itoa(counts[l]))
				}
			}
		}
		labels = append(labels, e.UserLabels...)
		if i == newestCompleted {
			reasons = append(reasons, "newest completed backup")
		}
		if keptFailed[i] {
			reasons = append(reasons, fmt.Sprintf("%s: one of the newest %d failed", failure(e.Status), keepFailed))
		}
		if !known(e.Status) && e.problem == "" {
			reasons = append(reasons, "unknown status "+strconv.Quote(string(e.Status)))
		}

		switch {
		case len(reasons) > n:
			keep[i] = true
			nKeep++
		case l.Err != nil:
			keep[i] = true
			nKeep++
			reasons = append(reasons, "listing incomplete: nothing is deleted (would be: "+deletion(e, now, window, keepFailed)+")")
		default:
			reasons = append(reasons, deletion(e, now, window, keepFailed))
		}
	}
	roff[len(entries)], loff[len(entries)] = int32(len(reasons)), int32(len(labels))
	if l.Err != nil {
		warnings = append(warnings, fmt.Sprintf("listing incomplete, nothing is deleted: %v", l.Err))
	}

	res := Result{
		Keep:     make([]Decision, nKeep),
		Delete:   make([]Decision, len(entries)-nKeep),
		Warnings: warnings,
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
		d.Reasons = reasons[roff[i]:roff[i+1]:roff[i+1]]
		if loff[i] < loff[i+1] {
			d.Labels = labels[loff[i]:loff[i+1]:loff[i+1]]
		}
	}
	return res
}

// deletion is the reason a backup without any reason to keep it goes.
func deletion(e *entry, now time.Time, window time.Duration, keepFailed int) string {
	if countsAsFailed(e.Status, now.Sub(e.Start), window) {
		return fmt.Sprintf("%s: not one of the newest %d failed", failure(e.Status), keepFailed)
	}
	return "no label left"
}

// failure names a failed backup's state in reasons.
func failure(s Status) string {
	if s == StatusFailed {
		return "failed"
	}
	return fmt.Sprintf("stale %s (counted as failed)", s)
}

// countsAsFailed reports whether a backup of this status and age is a
// failure: Failed ones, and unfinished ones older than the in-flight window,
// whose runner evidently died before it could record the outcome.
func countsAsFailed(s Status, age, window time.Duration) bool {
	switch s {
	case StatusFailed:
		return true
	case StatusPending, StatusRunning:
		return age >= window
	}
	return false
}

func known(s Status) bool {
	switch s {
	case StatusPending, StatusRunning, StatusCompleted, StatusFailed:
		return true
	}
	return false
}
