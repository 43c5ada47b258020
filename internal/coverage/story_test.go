package coverage

import (
	"testing"
	"time"
)

// TestClaimLifecycle follows one claim through the path: new and
// unprotected, a definition added, its first backup, backups stopping, the
// owner giving up and annotating it skip.
func TestClaimLifecycle(t *testing.T) {
	in := input(nil, claim("data"))
	step := func(what string, want State) {
		t.Helper()
		if got := Compute(in).Claims[0]; got.State != want {
			t.Fatalf("%s: %s (%s), want %s", what, got.State, got.Reason, want)
		}
	}
	step("a new claim", Unprotected)

	d := def("files", func(d *Definition) { d.Created, d.LastSuccess = now, time.Time{} })
	in.Definitions = []Definition{d}
	step("a definition added, no backup yet", Stale)

	eleven := time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)
	in.Definitions[0].LastSuccess = eleven
	in.Now = eleven.Add(5 * time.Minute)
	step("its first backup completed", Protected)

	in.Now = eleven.Add(150 * time.Minute)
	step("backups stop: the 12:00 run missed, 13:00 may still run", Protected)
	in.Now = eleven.Add(3 * time.Hour)
	step("backups stop: 13:00 ran out of its drain timeout too", Stale)

	in.Definitions = nil
	step("the definition is deleted", Unprotected)
	in.Claims[0].Annotations = map[string]string{AnnotationBackup: BackupSkip, AnnotationReason: "scratch space"}
	step("annotated skip", Excluded)
}

// TestDefinitionReports: counts, times and flags per definition, and the
// moment the report next changes by time alone.
func TestDefinitionReports(t *testing.T) {
	in := input([]Definition{
		def("fresh", func(d *Definition) { d.Claims = []string{"a", "b"} }),
		def("late", lastSuccess(5*time.Hour), func(d *Definition) { d.Claims = []string{"a", "c"} }),
		def("paused", func(d *Definition) { d.Suspend, d.Claims = true, []string{"c"} }),
		def("denied", func(d *Definition) { d.Namespace, d.Claims = "denied", []string{"x"} }),
		def("broken", func(d *Definition) { d.LastFailed, d.LastError = true, "boom" }),
	}, claim("a"), claim("b"), claim("c"), claim("d"), Claim{Namespace: "denied", Name: "x"})
	rep := Compute(in)
	byName := map[string]DefinitionReport{}
	for _, d := range rep.Definitions {
		byName[d.Name] = d
	}
	type want struct {
		covered, protected                                  int
		protecting, stale, failing, suspended, blocked, run bool
	}
	tests := map[string]want{
		"fresh":  {covered: 2, protected: 2, protecting: true, run: true},
		"late":   {covered: 2, stale: true, run: true},
		"paused": {covered: 1, suspended: true},
		"denied": {covered: 1, blocked: true, run: true},
		"broken": {failing: true, run: true},
	}
	for name, w := range tests {
		t.Run(name, func(t *testing.T) {
			d, ok := byName[name]
			if !ok {
				t.Fatal("not reported")
			}
			got := want{d.CoveredPVCs, d.ProtectedPVCs, d.Protecting, d.Stale, d.Failing, d.Suspended, d.Blocked, d.NextRun != nil}
			if got != w {
				t.Errorf("got %+v, want %+v (reason %q)", got, w, d.Reason)
			}
			if d.NextRun != nil && !d.NextRun.Equal(time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)) {
				t.Errorf("next run %s", d.NextRun)
			}
		})
	}
	wantTotals := map[State]int{Protected: 2, Stale: 1, Unprotected: 2, Excluded: 0}
	for s, n := range wantTotals {
		if rep.Totals[s] != n {
			t.Errorf("totals %v, want %v", rep.Totals, wantTotals)
		}
	}
	if want := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC); !rep.NextChange.Equal(want) {
		t.Errorf("next change %s, want %s", rep.NextChange, want)
	}
	if rep.Claims[0].Namespace != "denied" || rep.Claims[1].Name != "a" {
		t.Errorf("claims not sorted: %v", rep.Claims)
	}
}
