// Package retention decides which backups of one definition to keep.
//
// Every Completed backup earns time labels: it is hourly, daily, weekly,
// monthly or yearly if it is the first Completed backup of that calendar
// bucket in the definition's time zone. Each label keeps the holders of its
// newest N buckets; a backup that holds no label any more is deleted. User
// labels (any label that is not a time label, "pinned" by convention) keep a
// backup until they are removed.
//
// Backups taken on demand (Manual) are kept by their own rule: they earn no
// time labels, so the scheduled series is judged as if they did not exist,
// and the newest Policy.Manual of them hold the label "manual". A backup
// someone asked for by hand is thus never the victim of the hourly label
// moving on, and a stream of manual backups never pushes a scheduled one out.
//
// Plan is a pure function of the listing, the policy and the current time, so
// the runner can call it after every backup and tests can replay years of
// history in milliseconds. Safety rules sit on top of the labels, because a
// retention bug destroys the thing a backup system exists to keep: the newest
// Completed backup is never deleted, young backups are never deleted, a start
// time in the future is kept and reported, and an incomplete listing deletes
// nothing.
//
// PlanSweep is the companion for objects that never became a backup: upload
// directories without a manifest, left behind by a crash. It decides over
// keys internal/layout has parsed, so it holds policy only, no layout.
package retention

import (
	"slices"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

// Plan understands the phases of internal/phase. Any other status is kept
// untouched, because a status Plan does not know is one it cannot reason
// about safely.

// The time labels, finest first. Labels of these names are computed, never
// taken from the input: a manifest that recorded yesterday's labels must not
// keep a backup alive today.
const (
	LabelHourly  = "hourly"
	LabelDaily   = "daily"
	LabelWeekly  = "weekly"
	LabelMonthly = "monthly"
	LabelYearly  = "yearly"
)

// LabelManual is held by the newest Policy.Manual on-demand backups. Like
// the time labels it is computed, never taken from the input.
const LabelManual = "manual"

// LabelPinned is the conventional user label for "keep until I say so".
// Every other non-time label works the same way.
const LabelPinned = "pinned"

// timeLabels is the fixed order in which time labels are reported.
var timeLabels = [numLabels]string{LabelHourly, LabelDaily, LabelWeekly, LabelMonthly, LabelYearly}

const numLabels = 5

// Defaults for zero Policy fields.
const (
	DefaultKeepFailed     = 3
	DefaultInFlightWindow = 2 * time.Hour
	// DefaultKeepManual is generous: an on-demand backup is usually the one
	// taken before a migration or an upgrade, wanted days later, and there
	// are few of them. Ten cover a busy week of releases.
	DefaultKeepManual = 10
)

// Backup is one backup set of a definition as the catalog lists it.
type Backup struct {
	ID     string
	Start  time.Time
	Status phase.Phase
	// UserLabels are labels a user attached. Time label names and "manual"
	// in here are ignored, so callers may pass a manifest's full label list.
	UserLabels []string
	// Manual: taken on demand (CLI, API, a Backup object), not by the
	// schedule. Manual backups earn no time labels; the newest Policy.Manual
	// of them hold the label "manual".
	Manual bool
}

// Listing is the catalog as read from storage. Err reports that the listing
// may be incomplete (a failed page, an unreadable manifest): then Plan deletes
// nothing, because a backup missing from the listing could be the one that
// should have kept the others' labels from moving.
type Listing struct {
	Backups []Backup
	Err     error
}

// Policy is a definition's retention: how many buckets each time label keeps,
// in which time zone buckets are cut, and the safety margins.
type Policy struct {
	// Keep-counts per time label; 0 means the label is not used.
	Hourly, Daily, Weekly, Monthly, Yearly int
	// Manual is how many of the newest Completed on-demand backups hold the
	// label "manual": 0 (or negative) means DefaultKeepManual. There is no
	// "none": an on-demand backup was asked for by a person, and deleting it
	// behind their back is the failure this rule exists to prevent; pin or
	// unpin, or keep 1, to keep fewer.
	Manual int
	// Location cuts calendar buckets; nil means UTC.
	Location *time.Location
	// KeepFailed is how many of the newest failed backups to keep for
	// diagnosis: 0 means DefaultKeepFailed, negative means none.
	KeepFailed int
	// InFlightWindow protects anything started less than this before now,
	// whatever its status, so a backup still uploading or just finished is
	// never deleted by a concurrent plan. It must exceed the longest backup:
	// an unfinished backup older than this is counted as failed. Zero or
	// negative means DefaultInFlightWindow; the rule cannot be switched off.
	InFlightWindow time.Duration
}

// Decision is the verdict on one backup.
type Decision struct {
	ID     string
	Start  time.Time
	Status phase.Phase
	Keep   bool
	// Labels are the time labels the backup holds under the policy (earned
	// and within the keep-count), then "manual" if it holds it, then its
	// user labels, sorted.
	Labels []string
	// Reasons explain the verdict in words an operator can check: every
	// reason to keep, or the single reason to delete.
	Reasons []string
}

// Result is a plan. Keep and Delete are sorted by start time, then ID.
// Warnings report what an operator should look at (clock changes, broken
// listings, conflicting records); they never cause a deletion.
type Result struct {
	Keep     []Decision
	Delete   []Decision
	Warnings []string
}

func (p Policy) counts() [numLabels]int {
	c := [numLabels]int{p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly}
	for i := range c {
		c[i] = max(c[i], 0)
	}
	return c
}

func (p Policy) location() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

func (p Policy) keepFailed() int {
	switch {
	case p.KeepFailed == 0:
		return DefaultKeepFailed
	case p.KeepFailed < 0:
		return 0
	}
	return p.KeepFailed
}

func (p Policy) keepManual() int {
	if p.Manual <= 0 {
		return DefaultKeepManual
	}
	return p.Manual
}

// Reserved reports whether label is computed by Plan (a time label or
// "manual"): such labels cannot be set by hand and are ignored in input.
func Reserved(label string) bool {
	return label == LabelManual || slices.Contains(timeLabels[:], label)
}

func (p Policy) inFlightWindow() time.Duration {
	if p.InFlightWindow <= 0 {
		return DefaultInFlightWindow
	}
	return p.InFlightWindow
}
