package controller

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/retention"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// ConditionPinForwarded on a Backup says whether the runner's backup has the
// pinned label spec.pinned asks for, as of the condition's
// observedGeneration.
const ConditionPinForwarded = "PinForwarded"

// Reasons of ConditionPinForwarded.
const (
	ReasonPinned       = "Pinned"
	ReasonUnpinned     = "Unpinned"
	ReasonNothingToPin = "NothingToPin"
	ReasonRunnerBusy   = "RunnerBusy"
)

// pinRetry: how soon a pin the runner could not take is tried again.
const pinRetry = 10 * time.Second

// forwardPin is the last step for a finished Backup: when spec.pinned has
// changed since it was last forwarded, add or remove the runner's pinned
// label, and show the runner's labels in status.
//
// Only changes are forwarded, never the state: a pin set or removed through
// the runner's CLI or API is not undone by a Backup that was never edited.
// A Backup's first generation needs nothing: a user's Backup is taken with
// its pin (see step), and a mirrored one is created from the runner's state.
func (r *BackupReconciler) forwardPin(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	if pinForwarded(b) {
		return ctrl.Result{}, nil
	}
	conds := &b.Status.Conditions
	if b.Status.Phase != v1alpha1.BackupCompleted || b.Status.BackupID == "" {
		meta.SetStatusCondition(conds, metav1.Condition{Type: ConditionPinForwarded, Status: metav1.ConditionFalse,
			Reason: ReasonNothingToPin, Message: "the backup did not complete: there is nothing to pin", ObservedGeneration: b.Generation})
		return ctrl.Result{}, nil
	}
	fail := func(reason string, err error) (ctrl.Result, error) {
		meta.SetStatusCondition(conds, metav1.Condition{Type: ConditionPinForwarded, Status: metav1.ConditionFalse,
			Reason: reason, Message: err.Error(), ObservedGeneration: b.Generation})
		return ctrl.Result{RequeueAfter: pinRetry}, nil
	}
	rc, err := r.Runners.forDefinition(ctx, b.Namespace, b.Spec.DefinitionRef.Name)
	if err != nil {
		return fail("RunnerNotFound", err)
	}
	rec, err := rc.SetLabel(ctx, b.Status.BackupID, retention.LabelPinned, b.Spec.Pinned)
	switch {
	case errors.Is(err, runnerapi.ErrBusy):
		return fail(ReasonRunnerBusy, err)
	case errors.Is(err, runnerapi.ErrNotFound): // retention deleted it, or a restored catalog lacks it
		return fail("BackupNotFound", err)
	case err != nil:
		return fail(ReasonUnreachable, err)
	}
	b.Status.Labels = rec.Labels
	setPinForwarded(conds, b.Generation, b.Spec.Pinned, rec.ID)
	return ctrl.Result{}, nil
}

// pinForwarded: the runner has been told this generation's spec.pinned, or
// cannot be (a failed backup). Without the condition, the first generation
// is forwarded already (see forwardPin).
func pinForwarded(b *v1alpha1.Backup) bool {
	c := meta.FindStatusCondition(b.Status.Conditions, ConditionPinForwarded)
	if c == nil {
		return b.Generation <= 1
	}
	return c.ObservedGeneration >= b.Generation && (c.Status == metav1.ConditionTrue || c.Reason == ReasonNothingToPin)
}

func setPinForwarded(conds *[]metav1.Condition, gen int64, pinned bool, id string) {
	reason, msg := ReasonUnpinned, "runner backup "+id+" is not pinned"
	if pinned {
		reason, msg = ReasonPinned, "runner backup "+id+" is pinned: retention keeps it until it is unpinned"
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: ConditionPinForwarded, Status: metav1.ConditionTrue,
		Reason: reason, Message: msg, ObservedGeneration: gen})
}
