package controller

import (
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// TestProgressOf: counts are written at most every progressEvery, unless a
// target changed phase, and cleared once the backup or restore has ended.
func TestProgressOf(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	items := func(p phase.TargetPhase, n int64) []runnerapi.TargetProgress {
		return []runnerapi.TargetProgress{{Name: "main", Phase: p, PlainBytes: n, StoredBytes: n / 2, StartTime: t0}}
	}
	first := progressOf(nil, phase.Running, items(phase.TargetRunning, 100), t0.Add(500*time.Millisecond))
	if first == nil || !first.UpdateTime.Time.Equal(t0) || first.Targets[0].PlainBytes != 100 ||
		first.Targets[0].Phase != v1alpha1.TargetRunning || !first.Targets[0].StartTime.Time.Equal(t0) {
		t.Fatalf("first reading: %+v", first)
	}
	tests := map[string]struct {
		p     phase.Phase
		items []runnerapi.TargetProgress
		at    time.Duration
		want  func(*v1alpha1.TransferProgress) bool
	}{
		"too soon: the last write stays": {phase.Running, items(phase.TargetRunning, 200), 3 * time.Second,
			func(got *v1alpha1.TransferProgress) bool { return got == first }},
		"after progressEvery: new counts": {phase.Running, items(phase.TargetRunning, 300), 5 * time.Second,
			func(got *v1alpha1.TransferProgress) bool {
				return got != first && got.Targets[0].PlainBytes == 300 && got.UpdateTime.Time.Equal(t0.Add(5*time.Second))
			}},
		"a phase change is written at once": {phase.Running, items(phase.TargetDone, 400), time.Second,
			func(got *v1alpha1.TransferProgress) bool {
				return got != first && got.Targets[0].Phase == v1alpha1.TargetDone
			}},
		"final: cleared": {phase.Completed, items(phase.TargetDone, 400), time.Second,
			func(got *v1alpha1.TransferProgress) bool { return got == nil }},
		"no counts: none": {phase.Running, nil, 10 * time.Second,
			func(got *v1alpha1.TransferProgress) bool { return got == nil }},
	}
	for name, tc := range tests {
		if got := progressOf(first, tc.p, tc.items, t0.Add(tc.at)); !tc.want(got) {
			t.Errorf("%s: %+v", name, got)
		}
	}
}
