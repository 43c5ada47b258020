package kubernetes

import (
	"fmt"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine"
)

// Action is what a restore did with one object (in a dry run: would do).
type Action string

// Actions.
const (
	ActionCreated   Action = "created"
	ActionUpdated   Action = "updated"
	ActionUnchanged Action = "unchanged"
	ActionSkipped   Action = "skipped"
	ActionFailed    Action = "failed"
)

// ItemResult is one object's result, at its destination (namespace mapped).
type ItemResult struct {
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Action    Action `json:"action"`
	Reason    string `json:"reason,omitempty"`
}

func (r ItemResult) String() string {
	s := fmt.Sprintf("%s %s: %s", r.Resource, key(r.Namespace, r.Name), r.Action)
	if r.Reason != "" {
		s += " (" + r.Reason + ")"
	}
	return s
}

// Report counts a restore's results and keeps its failures.
type Report struct {
	Created, Updated, Unchanged, Skipped int
	Failures                             []ItemResult
}

func (r *Report) add(res ItemResult) {
	switch res.Action {
	case ActionCreated:
		r.Created++
	case ActionUpdated:
		r.Updated++
	case ActionUnchanged:
		r.Unchanged++
	case ActionSkipped:
		r.Skipped++
	case ActionFailed:
		r.Failures = append(r.Failures, res)
	}
}

// PartialError is a restore whose failed objects it lists; the others
// were restored. It wraps engine.ErrPartiallyFailed.
type PartialError struct {
	// Target is the restored target's name.
	Target string
	Report Report
}

// FailedItems lists the failed objects as "<resource> <namespace>/<name>",
// at their destination: it makes a PartialError an engine.PartialFailure.
func (e *PartialError) FailedItems() []engine.FailedItem {
	out := make([]engine.FailedItem, len(e.Report.Failures))
	for i, f := range e.Report.Failures {
		out[i] = engine.FailedItem{Target: e.Target, Item: f.Resource + " " + key(f.Namespace, f.Name), Reason: f.Reason}
	}
	return out
}

// maxListed bounds the failures an error message lists.
const maxListed = 20

func (e *PartialError) Error() string {
	r := e.Report
	total := r.Created + r.Updated + r.Unchanged + r.Skipped + len(r.Failures)
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d of %d objects failed", engine.ErrPartiallyFailed, len(r.Failures), total)
	for i, f := range r.Failures {
		if i == maxListed {
			fmt.Fprintf(&b, "; and %d more (see the log)", len(r.Failures)-maxListed)
			break
		}
		b.WriteString("; ")
		b.WriteString(f.String())
	}
	return b.String()
}

func (e *PartialError) Unwrap() error { return engine.ErrPartiallyFailed }

var _ engine.PartialFailure = (*PartialError)(nil)
