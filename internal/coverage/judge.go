package coverage

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/coffer-dev/coffer/internal/scheduler"
)

// judge is the verdict on one definition.
func judge(in *Input, d *Definition) DefinitionReport {
	r := DefinitionReport{Namespace: d.Namespace, Name: d.Name, Suspended: d.Suspend, RunnerReachable: d.RunnerReachable}
	if !d.LastSuccess.IsZero() {
		r.LastSuccess = timePtr(d.LastSuccess)
	}
	if d.Schedule != "" && !d.Suspend {
		if next, err := scheduler.NextRun(d.Schedule, d.TimeZone, in.Now); err == nil && !next.IsZero() {
			r.NextRun = timePtr(next)
		}
	}
	staleAt, timing := deadline(d, in.Now)
	if !staleAt.IsZero() {
		r.StaleAt = timePtr(staleAt)
		r.Stale = !in.Now.Before(staleAt)
	}
	blocked := admits(in, d)
	r.Blocked = blocked != ""
	r.Failing = !r.Blocked && (d.LastFailed || d.NotReady != "")
	switch {
	case r.Blocked:
		r.Reason = blocked
	case d.Suspend:
		r.Reason = "suspended (spec.suspend)"
	case d.NotReady != "":
		r.Reason = "not ready: " + d.NotReady
	case d.LastFailed:
		r.Reason = "its newest backup failed: " + d.LastError
	case timing != "":
		r.Reason = timing
	case r.Stale:
		r.Reason = fmt.Sprintf("%s; stale since %s", lastBackup(d), stamp(staleAt))
	case d.LastSuccess.IsZero():
		// Covered but not yet backed up: not protected, but not late either
		// (r.Stale stays false until the first backup is overdue).
		r.Reason = fmt.Sprintf("%s; the first is due by %s", lastBackup(d), stamp(staleAt))
	default:
		r.Protecting = true
		r.Reason = fmt.Sprintf("%s; stale at %s unless another completes", lastBackup(d), stamp(staleAt))
	}
	return r
}

// deadline is when the definition goes stale: its newest Completed backup
// (or, before the first, its creation) plus spec.coverage.staleAfter, or
// else plus the time to the schedule's second run after it and the drain
// timeout — one missed run is tolerated, two are not, and a backup may run
// for up to the drain timeout. Measuring runs rather than an interval keeps
// irregular schedules ("0 2 * * 1-5") from going stale over a weekend. A
// non-empty string says why there is no deadline.
func deadline(d *Definition, now time.Time) (time.Time, string) {
	ref := d.LastSuccess
	if ref.IsZero() {
		ref = d.Created
	}
	if ref.IsZero() {
		ref = now
	}
	if d.StaleAfter > 0 {
		return ref.Add(d.StaleAfter), ""
	}
	if d.Schedule == "" {
		return time.Time{}, "no schedule: set spec.coverage.staleAfter to judge its on-demand backups"
	}
	first, err := scheduler.NextRun(d.Schedule, d.TimeZone, ref)
	if err != nil {
		return time.Time{}, "invalid schedule: " + err.Error()
	}
	second, err := scheduler.NextRun(d.Schedule, d.TimeZone, first)
	if err != nil || second.IsZero() {
		return time.Time{}, fmt.Sprintf("schedule %q does not run twice after %s", d.Schedule, stamp(ref))
	}
	return second.Add(d.DrainTimeout), ""
}

// admits says why the definition may not run at all, or "".
func admits(in *Input, d *Definition) string {
	st, ok := in.Storages[d.Storage]
	if !ok {
		return fmt.Sprintf("BackupStorage %s/%s does not exist", in.OperatorNamespace, d.Storage)
	}
	if st.AllowedNamespaces == nil {
		if d.Namespace == in.OperatorNamespace {
			return ""
		}
		return fmt.Sprintf("BackupStorage %s/%s admits only its own namespace (no spec.allowedNamespaces)", in.OperatorNamespace, d.Storage)
	}
	sel, err := metav1.LabelSelectorAsSelector(st.AllowedNamespaces)
	if err != nil {
		return fmt.Sprintf("BackupStorage %s/%s: invalid spec.allowedNamespaces: %v", in.OperatorNamespace, d.Storage, err)
	}
	if !sel.Matches(labels.Set(in.NamespaceLabels[d.Namespace])) {
		return fmt.Sprintf("BackupStorage %s/%s does not admit namespace %s (spec.allowedNamespaces)", in.OperatorNamespace, d.Storage, d.Namespace)
	}
	return ""
}

func lastBackup(d *Definition) string {
	if d.LastSuccess.IsZero() {
		return "no Completed backup yet (created " + stamp(d.Created) + ")"
	}
	return "newest Completed backup started " + stamp(d.LastSuccess)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timePtr(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}
