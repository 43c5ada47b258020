package e2e

import (
	"strings"
	"testing"
)

// TestLabelAndPrune: three backups taken on demand, with a policy that keeps
// one manual backup: prune keeps the newest and the pinned one, deletes the
// rest with a reason, and --dry-run deletes nothing.
func TestLabelAndPrune(t *testing.T) {
	src := pgDB(t, false)
	psql(t, src, "CREATE TABLE t AS SELECT 1 AS x")
	s := writeSetup(t, setupOpts{schedule: "0 * * * *", retention: "{hourly: 2, daily: 2, manual: 1}",
		targets: []target{{name: "main", engine: "postgres", db: src}}})
	var ids []string
	for range 3 {
		ids = append(ids, strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout))
	}
	r := mustRun(t, "label", "-f", s.path, "--backup", ids[0], "--add", "pinned")
	if !strings.Contains(r.stdout, "pinned") {
		t.Fatalf("label output: %s", r.stdout)
	}
	if r := runner(t, nil, "label", "-f", s.path, "--backup", ids[0], "--add", "hourly"); r.code == 0 {
		t.Fatal("a time label could be set by hand")
	}

	// All three are younger than the in-flight window: the default plan keeps them.
	dry := mustRun(t, "prune", "-f", s.path, "--dry-run")
	if !strings.Contains(dry.stdout, "in flight") {
		t.Fatalf("dry run does not give the in-flight reason:\n%s", dry.stdout)
	}
	plan := mustRun(t, "prune", "-f", s.path, "--dry-run", "--in-flight-window", "1ns")
	if !strings.Contains(plan.stdout, "would delete") || !strings.Contains(plan.stdout, "pinned") {
		t.Fatalf("dry run plan:\n%s", plan.stdout)
	}
	if n := len(list(t, s)); n != 3 {
		t.Fatalf("--dry-run deleted something: %d left", n)
	}
	mustRun(t, "prune", "-f", s.path, "--in-flight-window", "1ns")
	left := list(t, s)
	var got []string
	for _, b := range left {
		got = append(got, b.ID)
	}
	// Pinned (oldest) and newest (manual #1) stay; the middle one held no label.
	if strings.Join(got, ",") != ids[0]+","+ids[2] {
		t.Fatalf("after prune: %v, want [%s %s]", got, ids[0], ids[2])
	}
	if !strings.Contains(strings.Join(left[0].Labels, ","), "pinned") {
		t.Fatalf("pinned backup lost its label: %v", left[0].Labels)
	}
	if strings.Join(left[1].Labels, ",") != "manual" {
		t.Fatalf("newest on-demand backup holds %v, want [manual]", left[1].Labels)
	}
}

// TestOnDemandBackupsKept: with the default policy for on-demand backups, a
// day of them (the in-flight window says they are a day old) outlives the
// hourly label: before, each was deleted unless first of its hour.
func TestOnDemandBackupsKept(t *testing.T) {
	src := pgDB(t, false)
	psql(t, src, "CREATE TABLE t AS SELECT 1 AS x")
	s := writeSetup(t, setupOpts{s3: true, schedule: "0 * * * *", retention: "{hourly: 1}",
		targets: []target{{name: "main", engine: "postgres", db: src}}})
	ids := map[string]bool{}
	for range 3 {
		ids[strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)] = true
	}
	pinned := strings.TrimSpace(mustRun(t, "backup", "-f", s.path, "--pin").stdout)
	r := mustRun(t, "prune", "-f", s.path, "--in-flight-window", "1ns")
	if strings.Contains(r.stdout, "DELETE") {
		t.Fatalf("prune deleted on-demand backups:\n%s", r.stdout)
	}
	left := list(t, s)
	if len(left) != 4 {
		t.Fatalf("%d backups left, want all 4", len(left))
	}
	for i, b := range left {
		want := "manual"
		if b.ID == pinned {
			want = "manual,pinned"
		} else if !ids[b.ID] {
			t.Errorf("backup %d %s is none of the ones taken", i, b.ID)
		}
		if got := strings.Join(b.Labels, ","); got != want {
			t.Errorf("backup %d %s holds [%s], want [%s]", i, b.ID, got, want)
		}
	}
}
