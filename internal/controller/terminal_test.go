package controller

import (
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// TestRunnerLost: work gives up on a runner only after it has been out of
// reach, without a single answer, for longer than the limit; an answer
// starts the count again.
func TestRunnerLost(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	down := errors.New("runner unreachable")
	limit := time.Hour
	steps := []struct {
		at   time.Duration
		err  error
		lost bool
	}{
		{0, down, false},
		{59 * time.Minute, down, false},
		{60 * time.Minute, nil, false}, // it answered: the count starts again
		{61 * time.Minute, down, false},
		{2 * time.Hour, down, false},
		{2*time.Hour + time.Minute + time.Second, down, true},
	}
	var conds []metav1.Condition
	for i, s := range steps {
		if got := noteRunner(conditions{list: &conds, gen: 1, now: t0.Add(s.at)}, s.err, limit); got != s.lost {
			t.Fatalf("step %d (at %v, err %v): lost = %v, want %v", i, s.at, s.err, got, s.lost)
		}
	}
	if c := meta.FindStatusCondition(conds, ConditionRunnerReachable); c == nil || c.Message != down.Error() {
		t.Fatalf("condition %+v", c)
	}
}

func TestRunnerLostAfterFollowsDrainTimeout(t *testing.T) {
	def := &v1alpha1.BackupDefinition{}
	if got := runnerLostAfter(def); got != v1alpha1.DefaultDrainTimeout+runnerLostMargin {
		t.Errorf("default: %v", got)
	}
	def.Spec.Runner = &v1alpha1.RunnerSettings{DrainTimeout: &metav1.Duration{Duration: 6 * time.Hour}}
	if got := runnerLostAfter(def); got != 6*time.Hour+runnerLostMargin {
		t.Errorf("6h drain: %v", got)
	}
	if got := terminationGracePeriod(def); got != int64((6*time.Hour + time.Minute).Seconds()) {
		t.Errorf("grace period for a 6h drain: %ds", got)
	}
}
