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

// pinRetry: how soon a pin the runner could not take is tried again.
const pinRetry = 10 * time.Second

// forwardPin is the last step for a finished Backup: when spec.pinned has
// changed since it was last forwarded, add or remove the runner's pinned
// label, and show the runner's labels in status.
//
// Only changes are forwarded, never the state: a pin set or removed through
// the runner's CLI or API is not undone by a Backup that was never edited.
// A Backup's first generation needs nothing: a user's Backup is taken with
// its pin (see trigger), and a mirrored one is created from the runner's
// state.
func (r *BackupReconciler) forwardPin(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	if pinForwarded(b) {
		return ctrl.Result{}, nil
	}
	c := conditionsOf(&b.Status.Conditions, b.Generation, r.Clock)
	if b.Status.Phase != v1alpha1.BackupCompleted || b.Status.BackupID == "" {
		c.set(ConditionPinForwarded, metav1.ConditionFalse, ReasonNothingToPin, "the backup did not complete: there is nothing to pin")
		return ctrl.Result{}, nil
	}
	fail := func(reason string, err error) (ctrl.Result, error) {
		c.set(ConditionPinForwarded, metav1.ConditionFalse, reason, err.Error())
		return ctrl.Result{RequeueAfter: pinRetry}, nil
	}
	rc, err := r.Runners.forDefinition(ctx, b.Namespace, b.Spec.DefinitionRef.Name)
	if err != nil {
		return fail(ReasonRunnerNotFound, err)
	}
	rec, err := rc.SetLabel(ctx, b.Status.BackupID, retention.LabelPinned, b.Spec.Pinned)
	switch {
	case errors.Is(err, runnerapi.ErrBusy):
		return fail(ReasonRunnerBusy, err)
	case errors.Is(err, runnerapi.ErrNotFound): // retention deleted it, or a restored catalog lacks it
		return fail(ReasonBackupNotFound, err)
	case err != nil:
		return fail(ReasonUnreachable, err)
	}
	b.Status.Labels = rec.Labels
	setPinForwarded(c, b.Spec.Pinned, rec.ID)
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

func setPinForwarded(c conditions, pinned bool, id string) {
	reason, msg := ReasonUnpinned, "runner backup "+id+" is not pinned"
	if pinned {
		reason, msg = ReasonPinned, "runner backup "+id+" is pinned: retention keeps it until it is unpinned"
	}
	c.set(ConditionPinForwarded, metav1.ConditionTrue, reason, msg)
}
