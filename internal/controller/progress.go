package controller

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// progressEvery bounds how often a Backup's or Restore's progress is
// patched: byte counts change at every poll, and a status write per poll
// and object would be most of the controller's writes to the API server.
// A target changing phase is written at once.
const progressEvery = 5 * time.Second

// progressOf is the progress a Backup or Restore in phase p shows, given
// what it showed (prev) and what the runner reports now: nil once p is
// final, prev while it is younger than progressEvery and no target
// changed phase, else the runner's counts stamped with now.
func progressOf(prev *v1alpha1.TransferProgress, p phase.Phase, items []runnerapi.TargetProgress, now time.Time) *v1alpha1.TransferProgress {
	if !p.InFlight() || len(items) == 0 {
		return nil
	}
	targets := make([]v1alpha1.TargetProgress, len(items))
	for i, it := range items {
		targets[i] = v1alpha1.TargetProgress{Name: it.Name, Phase: v1alpha1.TargetPhaseOf(it.Phase),
			PlainBytes: it.PlainBytes, StoredBytes: it.StoredBytes}
		if !it.StartTime.IsZero() {
			targets[i].StartTime = &metav1.Time{Time: it.StartTime}
		}
	}
	if prev != nil && now.Sub(prev.UpdateTime.Time) < progressEvery && samePhases(prev.Targets, targets) {
		return prev
	}
	// Seconds, as the API server stores them: the next comparison sees
	// the same time this one wrote.
	return &v1alpha1.TransferProgress{UpdateTime: metav1.NewTime(now.Truncate(time.Second)), Targets: targets}
}

func samePhases(a, b []v1alpha1.TargetProgress) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Phase != b[i].Phase {
			return false
		}
	}
	return true
}
