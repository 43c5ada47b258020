package retention

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/phase"
)

func TestPlanSafetyRules(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		backups    []Backup
		policy     Policy
		now        time.Time
		err        error
		wantKeep   []string
		wantDelete []string
		// wantReason maps an ID to one reason its decision must carry.
		wantReason map[string]string
	}{
		"newest completed survives a policy of all zeros": {
			backups:    []Backup{completed("a", at(0)), completed("b", at(1)), completed("c", at(2))},
			now:        at(10),
			wantKeep:   []string{"c"},
			wantDelete: []string{"a", "b"},
			wantReason: map[string]string{"c": "newest completed backup", "a": "no label left"},
		},
		"newest completed survives newer failures": {
			backups: []Backup{
				completed("ok", at(0)),
				failed("f1", at(1)), failed("f2", at(2)), failed("f3", at(3)), failed("f4", at(4)),
			},
			now:        at(10),
			wantKeep:   []string{"ok", "f2", "f3", "f4"},
			wantDelete: []string{"f1"},
			wantReason: map[string]string{
				"ok": "newest completed backup",
				"f4": "failed: one of the newest 3 failed",
				"f1": "failed: not one of the newest 3 failed",
			},
		},
		"failures do not earn labels": {
			backups: []Backup{
				failed("f", at(10)),                // first of hour 10, but failed
				completed("c1", at(10.5)),          // so this one is hourly
				completed("c2", at(10.75)),         // second of hour 10
				completed("c3", at(11.1)),          // hourly, newest
				failed("f-old", at(9)),             // KeepFailed < 0: goes
				completed("c0", at(9.5), "hourly"), // a time label as user label pins nothing
			},
			policy:     Policy{Hourly: 5, KeepFailed: -1},
			now:        at(20),
			wantKeep:   []string{"c0", "c1", "c3"},
			wantDelete: []string{"f-old", "f", "c2"},
			wantReason: map[string]string{
				"c3": "hourly #1 of 5", "c1": "hourly #2 of 5", "c0": "hourly #3 of 5",
				"f": "failed: not one of the newest 0 failed",
			},
		},
		"in flight is kept whatever its status": {
			backups: []Backup{
				completed("old", at(0)),
				running("stale", at(1)),
				completed("young-done", at(8.5)),
				failed("young-failed", at(9)),
				completed("newest", at(9.25)),
				running("young-running", at(9.75)),
			},
			policy:     Policy{KeepFailed: -1},
			now:        at(10),
			wantKeep:   []string{"young-done", "young-failed", "newest", "young-running"},
			wantDelete: []string{"old", "stale"},
			wantReason: map[string]string{
				"young-done":    "in flight: younger than 2h0m0s",
				"young-failed":  "in flight: younger than 2h0m0s",
				"young-running": "in flight: younger than 2h0m0s",
				"stale":         "stale Running (counted as failed): not one of the newest 0 failed",
			},
		},
		"in-flight window is configurable": {
			backups:    []Backup{completed("a", at(0)), completed("b", at(5)), completed("c", at(9))},
			policy:     Policy{InFlightWindow: 6 * time.Hour},
			now:        at(10),
			wantKeep:   []string{"b", "c"},
			wantDelete: []string{"a"},
			wantReason: map[string]string{"b": "in flight: younger than 6h0m0s"},
		},
		"pinned and other user labels keep a backup": {
			backups: []Backup{
				completed("pinned", at(0), "pinned"),
				failed("evidence", at(1), "incident-42"),
				completed("plain", at(2)),
				completed("newest", at(3)),
			},
			policy:     Policy{KeepFailed: -1},
			now:        at(100),
			wantKeep:   []string{"pinned", "evidence", "newest"},
			wantDelete: []string{"plain"},
			wantReason: map[string]string{
				"pinned":   "pinned",
				"evidence": `pinned by user label "incident-42"`,
			},
		},
		"listing error deletes nothing": {
			backups:    []Backup{completed("a", at(0)), failed("f", at(1)), completed("c", at(2))},
			policy:     Policy{KeepFailed: -1},
			now:        at(10),
			err:        errors.New("page 3: connection reset"),
			wantKeep:   []string{"a", "f", "c"},
			wantReason: map[string]string{"a": "listing incomplete: nothing is deleted (would be: no label left)"},
		},
		"start in the future is kept and not the newest": {
			backups: []Backup{
				completed("a", at(0)), completed("b", at(1)), completed("ahead", at(13)),
			},
			now:        at(10),
			wantKeep:   []string{"b", "ahead"},
			wantDelete: []string{"a"},
			wantReason: map[string]string{
				"ahead": "in the future: starts 3h0m0s after now (clock changed?)",
				"b":     "newest completed backup",
			},
		},
		"unknown status is kept": {
			backups:    []Backup{{ID: "x", Start: at(0), Status: "Exploded"}, completed("n", at(1))},
			now:        at(10),
			wantKeep:   []string{"x", "n"},
			wantReason: map[string]string{"x": `unknown status "Exploded"`},
		},
		"duplicate IDs: twins merge, conflicts are kept": {
			backups: []Backup{
				completed("twin", at(0)), completed("twin", at(0), "pinned"),
				completed("clash", at(1)), failed("clash", at(1)),
				completed("n", at(2)),
			},
			now:        at(10),
			wantKeep:   []string{"twin", "clash", "n"},
			wantReason: map[string]string{"twin": "pinned", "clash": "duplicate ID with conflicting records: kept until resolved"},
		},
		"a manual backup earns no time label and is kept as manual": {
			backups: []Backup{
				manual("m-first", at(10)), // first of hour 10, but manual
				completed("s10", at(10.01)),
				manual("m1020", at(10+1.0/3)),
				completed("s11", at(11)), completed("s12", at(12)),
			},
			policy:     Policy{Hourly: 3},
			now:        at(58),
			wantKeep:   []string{"m-first", "s10", "m1020", "s11", "s12"},
			wantReason: map[string]string{"m1020": "manual #1 of 10", "m-first": "manual #2 of 10", "s10": "hourly #3 of 3"},
		},
		"the 11th manual backup goes when 10 are kept": {
			backups: append(manuals(11, 0), completed("s", at(20))),
			now:     at(100),
			wantKeep: []string{
				"m01", "m02", "m03", "m04", "m05", "m06", "m07", "m08", "m09", "m10", "s",
			},
			wantDelete: []string{"m00"},
			wantReason: map[string]string{"m10": "manual #1 of 10", "m01": "manual #10 of 10", "m00": "no label left", "s": "newest completed backup"},
		},
		"manual keep-count is configurable": {
			backups:    manuals(4, 0),
			policy:     Policy{Manual: 2},
			now:        at(100),
			wantKeep:   []string{"m02", "m03"},
			wantDelete: []string{"m00", "m01"},
			wantReason: map[string]string{"m02": "manual #2 of 2"},
		},
		"failed manual backups count as failed, not as manual": {
			backups:    []Backup{manual("m", at(0)), {ID: "mf", Start: at(1), Status: phase.Failed, Manual: true}, completed("s", at(2))},
			policy:     Policy{Manual: 1, KeepFailed: -1},
			now:        at(100),
			wantKeep:   []string{"m", "s"},
			wantDelete: []string{"mf"},
			wantReason: map[string]string{"m": "manual #1 of 1"},
		},
		"the newest completed backup is kept even if it is a manual one beyond the count": {
			backups:    []Backup{manual("m0", at(0)), manual("m1", at(1)), manual("m2", at(2))},
			policy:     Policy{Manual: 1},
			now:        at(100),
			wantKeep:   []string{"m2"},
			wantDelete: []string{"m0", "m1"},
			wantReason: map[string]string{"m2": "newest completed backup"},
		},
		"a pinned manual backup is kept beyond the count": {
			backups:    []Backup{{ID: "old", Start: at(0), Status: phase.Completed, Manual: true, UserLabels: []string{"pinned"}}, manual("m1", at(1)), manual("m2", at(2))},
			policy:     Policy{Manual: 1},
			now:        at(100),
			wantKeep:   []string{"old", "m2"},
			wantDelete: []string{"m1"},
			wantReason: map[string]string{"old": "pinned"},
		},
		"a manual label in the input keeps nothing": {
			backups:    []Backup{completed("a", at(0), "manual"), completed("b", at(1))},
			now:        at(100),
			wantKeep:   []string{"b"},
			wantDelete: []string{"a"},
		},
		"twins that disagree on the trigger are a conflict": {
			backups:    []Backup{completed("x", at(0)), manual("x", at(0)), completed("n", at(1))},
			now:        at(100),
			wantKeep:   []string{"x", "n"},
			wantReason: map[string]string{"x": "duplicate ID with conflicting records: kept until resolved"},
		},
		"keep-counts rank buckets newest first": {
			backups: []Backup{
				completed("h0", at(0)), completed("h1", at(1)), completed("h2", at(2)),
				completed("h3", at(3)), completed("h4", at(4)),
			},
			policy:     Policy{Hourly: 3},
			now:        at(20),
			wantKeep:   []string{"h2", "h3", "h4"},
			wantDelete: []string{"h0", "h1"},
			wantReason: map[string]string{"h4": "hourly #1 of 3", "h2": "hourly #3 of 3"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := Plan(Listing{Backups: tc.backups, Err: tc.err}, tc.policy, tc.now)
			if got := ids(r.Keep); !sameSet(got, tc.wantKeep) {
				t.Errorf("keep = %v, want %v", got, tc.wantKeep)
			}
			if got := ids(r.Delete); !sameSet(got, tc.wantDelete) {
				t.Errorf("delete = %v, want %v", got, tc.wantDelete)
			}
			for id, want := range tc.wantReason {
				if d := decision(t, r, id); !slices.Contains(d.Reasons, want) {
					t.Errorf("%s: reasons %q, want one to be %q", id, d.Reasons, want)
				}
			}
		})
	}
}

func TestPlanWarnings(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		backups []Backup
		err     error
		want    string
	}{
		"clock ahead": {backups: []Backup{completed("ahead", at(13))}, want: `backup "ahead" starts 3h0m0s after now: was the clock changed?`},
		"listing":     {err: errors.New("boom"), want: "listing incomplete, nothing is deleted: boom"},
		"conflict":    {backups: []Backup{completed("x", at(0)), completed("x", at(1))}, want: `backup "x": duplicate ID with conflicting records: kept until resolved`},
		"no ID":       {backups: []Backup{completed("", at(0))}, want: `backup "": no ID: cannot be addressed, kept`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := Plan(Listing{Backups: tc.backups, Err: tc.err}, Policy{}, at(10))
			if !slices.Contains(r.Warnings, tc.want) {
				t.Errorf("warnings = %q, want %q among them", r.Warnings, tc.want)
			}
			if len(r.Delete) != 0 {
				t.Errorf("deleted %v", ids(r.Delete))
			}
		})
	}
}

func TestPlanDecisionLabels(t *testing.T) {
	t.Parallel()
	r := Plan(Listing{Backups: []Backup{
		completed("a", at(0), "zeta", "pinned", "daily", "pinned"),
		completed("b", at(1)),
	}}, Policy{Hourly: 1, Daily: 1, Weekly: 1}, at(10))
	if got, want := decision(t, r, "a").Labels, []string{"daily", "weekly", "pinned", "zeta"}; !reflect.DeepEqual(got, want) {
		t.Errorf("a: labels %q, want %q", got, want)
	}
	if got, want := decision(t, r, "b").Labels, []string{"hourly"}; !reflect.DeepEqual(got, want) {
		t.Errorf("b: labels %q, want %q", got, want)
	}
	m := manual("m", at(2))
	m.UserLabels = []string{"pinned", "manual", "hourly"}
	r = Plan(Listing{Backups: []Backup{m}}, Policy{Hourly: 1}, at(10))
	if got, want := decision(t, r, "m").Labels, []string{"manual", "pinned"}; !reflect.DeepEqual(got, want) {
		t.Errorf("m: labels %q, want %q", got, want)
	}
}

// TestScheduledUnaffectedByManual: adding manual backups anywhere changes
// no decision about a scheduled one.
func TestScheduledUnaffectedByManual(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 11))
	var scheduled, all []Backup
	for i := range 24 * 20 {
		b := completed(fmt.Sprintf("s%04d", i), at(float64(i)+float64(15+rng.IntN(30))/60))
		if rng.IntN(15) == 0 {
			b.Status = phase.Failed
		}
		scheduled = append(scheduled, b)
		all = append(all, b)
		if rng.IntN(4) == 0 { // a manual backup, often first of its hour
			all = append(all, manual(fmt.Sprintf("m%04d", i), at(float64(i)+float64(rng.IntN(60))/60)))
		}
	}
	p := Policy{Hourly: 24, Daily: 7, Weekly: 4, Location: berlin(t)}
	now := at(24*20 + 0.5)
	want := Plan(Listing{Backups: scheduled}, p, now)
	got := Plan(Listing{Backups: all}, p, now)
	byID := map[string]Decision{}
	for _, d := range slices.Concat(got.Keep, got.Delete) {
		byID[d.ID] = d
	}
	for _, w := range slices.Concat(want.Keep, want.Delete) {
		if g := byID[w.ID]; g.Keep != w.Keep || !slices.Equal(g.Labels, w.Labels) {
			t.Errorf("%s: keep %v %v with manual backups, %v %v without", w.ID, g.Keep, g.Labels, w.Keep, w.Labels)
		}
	}
}

// TestPlanInputOrder feeds the same messy listing in many orders.
func TestPlanInputOrder(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	var backups []Backup
	for i := range 2000 {
		start := monday.Add(time.Duration(rng.IntN(90*24*60)) * time.Minute)
		b := completed(fmt.Sprintf("b%04d", i), start)
		switch rng.IntN(20) {
		case 0:
			b.Status = phase.Failed
		case 1:
			b.UserLabels = []string{"pinned"}
		case 2:
			backups = append(backups, b) // a twin
		case 3:
			backups = append(backups, failed(b.ID, start.Add(time.Minute))) // a conflict
		}
		backups = append(backups, b)
	}
	policy := Policy{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 2, Location: berlin(t)}
	now := monday.Add(60 * 24 * time.Hour) // some backups lie in the future
	want := Plan(Listing{Backups: backups}, policy, now)
	for range 5 {
		rng.Shuffle(len(backups), func(i, j int) { backups[i], backups[j] = backups[j], backups[i] })
		if got := Plan(Listing{Backups: backups}, policy, now); !reflect.DeepEqual(got, want) {
			t.Fatal("plan depends on input order")
		}
	}
	for _, list := range [][]Decision{want.Keep, want.Delete} {
		if !slices.IsSortedFunc(list, func(a, b Decision) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		}) {
			t.Error("decisions not sorted by start, then ID")
		}
	}
}

func TestPlanDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	labels := make([]string, 1, 4)
	labels[0] = "pinned"
	in := []Backup{completed("a", at(0), labels...), completed("a", at(0), "other")}
	in[0].UserLabels = labels
	Plan(Listing{Backups: in}, Policy{}, at(10))
	if got := labels[:cap(labels)][1]; got != "" {
		t.Errorf("input label array written: %q", got)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
