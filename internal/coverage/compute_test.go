package coverage

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// now is a Saturday, half past ten, UTC.
var now = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

const opNS = "coffer-system"

// input is the fixture every case starts from: namespace shop admitted by
// storage s3, namespace denied not, storage own admitting only opNS.
func input(defs []Definition, claims ...Claim) Input {
	return Input{
		Now:               now,
		OperatorNamespace: opNS,
		NamespaceLabels:   map[string]map[string]string{"shop": {"backups": "allowed"}, "denied": {}, opNS: {}},
		Storages: map[string]Storage{
			"s3":  {AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"backups": "allowed"}}},
			"own": {},
		},
		Definitions: defs,
		Claims:      claims,
	}
}

// def is an hourly definition in shop backing up claim "data", its newest
// backup started at 10:00 (so it goes stale at 13:00: two runs and the
// one-hour drain timeout later).
func def(name string, mods ...func(*Definition)) Definition {
	d := Definition{Namespace: "shop", Name: name, Storage: "s3", Schedule: "0 * * * *", DrainTimeout: time.Hour,
		Created: now.Add(-30 * 24 * time.Hour), LastSuccess: now.Add(-30 * time.Minute), Claims: []string{"data"}}
	for _, m := range mods {
		m(&d)
	}
	return d
}

func claim(name string, mods ...func(*Claim)) Claim {
	c := Claim{Namespace: "shop", Name: name, Labels: map[string]string{"app": "db"}}
	for _, m := range mods {
		m(&c)
	}
	return c
}

func annotated(kv ...string) func(*Claim) {
	return func(c *Claim) {
		c.Annotations = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			c.Annotations[kv[i]] = kv[i+1]
		}
	}
}

func lastSuccess(ago time.Duration) func(*Definition) {
	return func(d *Definition) { d.LastSuccess = now.Add(-ago) }
}

// TestClaimStates covers every path a claim's state can take.
func TestClaimStates(t *testing.T) {
	tests := map[string]struct {
		defs   []Definition
		claim  Claim
		want   State
		reason string // substring of the reason
		method string
	}{
		"nothing covers it": {claim: claim("data"), want: Unprotected, reason: "no BackupDefinition backs it up or covers it"},
		"a filesystem target backs it up": {defs: []Definition{def("files")}, claim: claim("data"), want: Protected,
			reason: "protected by files: newest Completed backup started 2026-11-21T10:00:00Z; stale at 2026-11-21T13:00:00Z"},
		"a postgres target covers it by selector": {defs: []Definition{def("pg", func(d *Definition) {
			d.Claims = nil
			d.Selectors = []*metav1.LabelSelector{{MatchLabels: map[string]string{"app": "db"}}}
		})}, claim: claim("pgdata-0"), want: Protected},
		"a selector that does not match": {defs: []Definition{def("pg", func(d *Definition) {
			d.Claims = nil
			d.Selectors = []*metav1.LabelSelector{{MatchLabels: map[string]string{"app": "other"}}}
		})}, claim: claim("pgdata-0"), want: Unprotected},
		"an invalid selector is ignored": {defs: []Definition{def("pg", func(d *Definition) {
			d.Claims = nil
			d.Selectors = []*metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}}
		})}, claim: claim("pgdata-0"), want: Unprotected},
		"one run missed is tolerated": {defs: []Definition{def("files", lastSuccess(150*time.Minute))}, claim: claim("data"),
			want: Protected, reason: "stale at 2026-11-21T11:00:00Z"},
		"backups stopped": {defs: []Definition{def("files", lastSuccess(210*time.Minute))}, claim: claim("data"), want: Stale,
			reason: "covered, but files: newest Completed backup started 2026-11-21T07:00:00Z; stale since 2026-11-21T10:00:00Z"},
		"staleAfter set by the user": {defs: []Definition{def("files", lastSuccess(210*time.Minute), func(d *Definition) { d.StaleAfter = 4 * time.Hour })},
			claim: claim("data"), want: Protected},
		"staleAfter exceeded": {defs: []Definition{def("files", lastSuccess(5*time.Hour), func(d *Definition) { d.StaleAfter = 4 * time.Hour })},
			claim: claim("data"), want: Stale},
		"a weekday schedule over the weekend": {defs: []Definition{def("files", func(d *Definition) {
			d.Schedule = "0 2 * * 1-5"
			d.LastSuccess = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC) // Friday
		})}, claim: claim("data"), want: Protected, reason: "stale at 2026-11-24T03:00:00Z"},
		"suspended": {defs: []Definition{def("files", func(d *Definition) { d.Suspend = true })}, claim: claim("data"),
			want: Stale, reason: "files: suspended (spec.suspend)"},
		"its newest backup failed": {defs: []Definition{def("files", func(d *Definition) { d.LastFailed, d.LastError = true, "pg_dump exited 1" })},
			claim: claim("data"), want: Stale, reason: "its newest backup failed: pg_dump exited 1"},
		"its runner is not rendered": {defs: []Definition{def("files", func(d *Definition) { d.NotReady = "SecretMissing: Secret shop/pg" })},
			claim: claim("data"), want: Stale, reason: "not ready: SecretMissing"},
		"no backup yet": {defs: []Definition{def("files", func(d *Definition) { d.LastSuccess, d.Created = time.Time{}, now.Add(-time.Hour) })},
			claim: claim("data"), want: Stale, reason: "no Completed backup yet (created 2026-11-21T09:30:00Z); the first is due by 2026-11-21T12:00:00Z"},
		"no schedule and no staleAfter": {defs: []Definition{def("files", func(d *Definition) { d.Schedule = "" })}, claim: claim("data"),
			want: Stale, reason: "set spec.coverage.staleAfter"},
		"no schedule, judged by staleAfter": {defs: []Definition{def("files", func(d *Definition) { d.Schedule, d.StaleAfter = "", 24*time.Hour })},
			claim: claim("data"), want: Protected},
		"an invalid schedule": {defs: []Definition{def("files", func(d *Definition) { d.Schedule = "every hour" })}, claim: claim("data"),
			want: Stale, reason: "invalid schedule"},
		"a storage that does not admit the namespace": {defs: []Definition{def("files", func(d *Definition) { d.Namespace = "denied" })},
			claim: Claim{Namespace: "denied", Name: "data"}, want: Unprotected,
			reason: "files cannot back it up: BackupStorage coffer-system/s3 does not admit namespace denied"},
		"a storage that does not exist": {defs: []Definition{def("files", func(d *Definition) { d.Storage = "gone" })}, claim: claim("data"),
			want: Unprotected, reason: "BackupStorage coffer-system/gone does not exist"},
		"a storage without allowedNamespaces, outside the operator namespace": {defs: []Definition{def("files", func(d *Definition) { d.Storage = "own" })},
			claim: claim("data"), want: Unprotected, reason: "admits only its own namespace"},
		"a storage without allowedNamespaces, in the operator namespace": {defs: []Definition{def("files", func(d *Definition) { d.Storage, d.Namespace = "own", opNS })},
			claim: Claim{Namespace: opNS, Name: "data"}, want: Protected},
		"a definition of another namespace naming it": {defs: []Definition{def("files", func(d *Definition) { d.Namespace = opNS })},
			claim: claim("data"), want: Unprotected},
		"annotated skip with a reason": {claim: claim("cache", annotated(AnnotationBackup, "skip", AnnotationReason, "cache, rebuilt from S3")),
			want: Excluded, reason: "skipped by its owner: cache, rebuilt from S3"},
		"annotated skip without a reason": {claim: claim("cache", annotated(AnnotationBackup, "skip")), want: Unprotected,
			reason: "coffer.dev/backup=skip needs coffer.dev/backup-reason"},
		"annotated external with the method": {claim: claim("pg", annotated(AnnotationBackup, "external", AnnotationMethod, "CNPG barman")),
			want: Excluded, reason: "backed up outside Coffer: CNPG barman", method: "CNPG barman"},
		"annotated external without the method": {claim: claim("pg", annotated(AnnotationBackup, "external")), want: Unprotected,
			reason: "needs coffer.dev/backup-method"},
		"annotated with an unknown value": {claim: claim("pg", annotated(AnnotationBackup, "yes")), want: Unprotected,
			reason: `coffer.dev/backup="yes" is not skip or external`},
		"annotated skip but backed up": {defs: []Definition{def("files")}, claim: claim("data", annotated(AnnotationBackup, "skip", AnnotationReason, "x")),
			want: Protected, reason: "coffer.dev/backup=skip is ignored"},
		"annotated skip, covered by a stale definition": {defs: []Definition{def("files", func(d *Definition) { d.Suspend = true })},
			claim: claim("data", annotated(AnnotationBackup, "skip", AnnotationReason, "x")), want: Stale},
		"annotated skip, its definition may not run": {defs: []Definition{def("files", func(d *Definition) { d.Storage = "gone" })},
			claim: claim("data", annotated(AnnotationBackup, "skip", AnnotationReason, "scratch")), want: Excluded},
		"one stale and one fresh definition": {defs: []Definition{def("a", func(d *Definition) { d.Suspend = true }), def("b")},
			claim: claim("data"), want: Protected, reason: "protected by b"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rep := Compute(input(tc.defs, tc.claim))
			if len(rep.Claims) != 1 {
				t.Fatalf("%d claims reported, want 1", len(rep.Claims))
			}
			got := rep.Claims[0]
			if got.State != tc.want || !strings.Contains(got.Reason, tc.reason) || got.Method != tc.method {
				t.Errorf("got %s %q (method %q), want %s containing %q (method %q)", got.State, got.Reason, got.Method, tc.want, tc.reason, tc.method)
			}
			if rep.Totals[tc.want] != 1 {
				t.Errorf("totals %v", rep.Totals)
			}
		})
	}
}
