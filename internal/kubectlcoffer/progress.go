package kubectlcoffer

import (
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// progress is the live line while --wait follows a Backup or Restore: the
// phase, the controller's conditions and, while it runs, each target's
// bytes and rate (rates). On a terminal the line is
// rewritten in place every poll; elsewhere a line is printed when what it
// says (apart from the elapsed time) changes.
type progress struct {
	w        io.Writer
	terminal bool
	last     string
	shown    bool
}

// show prints what, the elapsed time since start (or since the wait
// began) appended.
func (p *progress) show(what string, since time.Time, now time.Time) {
	elapsed := duration.HumanDuration(now.Sub(since))
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s (%s)", what, elapsed)
		p.shown = true
		return
	}
	if what != p.last {
		fmt.Fprintf(p.w, "%s (%s)\n", what, elapsed)
		p.last = what
	}
}

// done ends a line rewritten in place.
func (p *progress) done() {
	if p.terminal && p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}

// waiting explains a phase with the condition that says why it is not
// moving: the runner is busy, unreachable, the definition is missing.
func waiting(phase string, conds []metav1.Condition) string {
	if phase == "" {
		phase = "Pending"
	}
	s := phase
	if c := meta.FindStatusCondition(conds, v1alpha1.ConditionForwarded); c != nil && c.Status != metav1.ConditionTrue {
		s += ": " + c.Reason + ": " + c.Message
	} else if c := meta.FindStatusCondition(conds, v1alpha1.ConditionRunnerReachable); c != nil && c.Status == metav1.ConditionFalse {
		s += ": runner unreachable: " + c.Message
	}
	return s
}
