package controller

import (
	"context"
	"errors"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// pollInterval: how often an in-flight on-demand backup or restore is polled.
const pollInterval = 3 * time.Second

// ConditionForwarded on a Backup or Restore says whether the runner took it.
const ConditionForwarded = "Forwarded"

// BackupReconciler forwards Backups a user created to the runner (on-demand
// backups) and follows them to the end; for every Backup, user-created or
// mirrored, it forwards changes of spec.pinned. Mirroring itself is the
// definition reconciler's.
type BackupReconciler struct {
	Client  client.Client
	Runners RunnerCalls
	Events  events.EventRecorder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Reconcile: trigger once, poll until Completed or Failed, then forward
// spec.pinned whenever it changes.
func (r *BackupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	b := &v1alpha1.Backup{}
	if err := r.Client.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := b.DeepCopy()
	var res ctrl.Result
	var err error
	// 1. An on-demand Backup: trigger and follow it.
	if b.Labels[LabelMirrored] != "true" && !finished(b) {
		res, err = r.step(ctx, b)
		eventOnPhase(r.Events, b, string(before.Status.Phase), string(b.Status.Phase), string(v1alpha1.BackupCompleted), string(v1alpha1.BackupFailed),
			"backup "+b.Status.BackupID+" "+strings.ToLower(string(b.Status.Phase))+" "+b.Status.Error)
	}
	// 2. Any finished Backup: forward a changed spec.pinned. A mirrored
	// Backup still running is looked at again: its status changes do not
	// reach this reconciler.
	switch {
	case finished(b) && err == nil:
		res, err = r.forwardPin(ctx, b)
		eventOnChange(r.Events, b, before.Status.Conditions, b.Status.Conditions, ConditionPinForwarded)
	case b.Labels[LabelMirrored] == "true" && !pinForwarded(b):
		res = ctrl.Result{RequeueAfter: pollInterval}
	}
	if !equality.Semantic.DeepEqual(before.Status, b.Status) || !equality.Semantic.DeepEqual(before.Labels, b.Labels) {
		if b.Labels[LabelDefinition] != before.Labels[LabelDefinition] {
			if uerr := r.Client.Patch(ctx, b.DeepCopy(), client.MergeFrom(before)); uerr != nil {
				return ctrl.Result{}, uerr
			}
		}
		if perr := r.Client.Status().Patch(ctx, b, client.MergeFrom(before)); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	return res, err
}

func finished(b *v1alpha1.Backup) bool {
	return b.Status.Phase == v1alpha1.BackupCompleted || b.Status.Phase == v1alpha1.BackupFailed
}

func (r *BackupReconciler) step(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	if b.Labels == nil {
		b.Labels = map[string]string{}
	}
	b.Labels[LabelDefinition] = LabelValue(b.Spec.DefinitionRef.Name)
	def, res, err := r.definition(ctx, b)
	if def == nil {
		return res, err
	}
	rc, err := r.Runners.forDefinition(ctx, b.Namespace, b.Spec.DefinitionRef.Name)
	if err != nil {
		setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionFalse, "RunnerNotFound", err.Error())
		return r.runnerOutOfReach(b, def, err, 15*time.Second)
	}
	if b.Status.BackupID == "" {
		rec, err := rc.trigger(ctx, runnerapi.BackupRequest{Pinned: b.Spec.Pinned})
		if err != nil && !errors.Is(err, errRunnerBusy) {
			b.Status.Phase = v1alpha1.BackupPending
			setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionFalse, ReasonUnreachable, err.Error())
			return r.runnerOutOfReach(b, def, err, 10*time.Second)
		}
		noteRunner(&b.Status.Conditions, b.Generation, nil, r.now(), 0)
		if err != nil {
			b.Status.Phase = v1alpha1.BackupPending
			setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionFalse, "RunnerBusy", err.Error())
			return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
		}
		setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionTrue, "Accepted", "runner started backup "+rec.ID)
		setPinForwarded(&b.Status.Conditions, b.Generation, b.Spec.Pinned, rec.ID)
		b.Status = statusFromRunner(rec, b.Status.Conditions)
		return ctrl.Result{RequeueAfter: pollInterval}, nil
	}
	rec, err := rc.backup(ctx, b.Status.BackupID)
	switch {
	case errors.Is(err, errRunnerNotFound):
		// The runner lists committed backups, failure records and the
		// backup in flight: one it does not know was never committed.
		noteRunner(&b.Status.Conditions, b.Generation, nil, r.now(), 0)
		r.fail(b, "the runner has no record of backup "+b.Status.BackupID+": it restarted before committing it "+
			"(killed, or aborted after its drain timeout) and recorded no failure; nothing was stored. Create a new Backup")
		return ctrl.Result{}, nil
	case err != nil:
		setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionTrue, ReasonUnreachable, err.Error())
		return r.runnerOutOfReach(b, def, err, 10*time.Second)
	}
	noteRunner(&b.Status.Conditions, b.Generation, nil, r.now(), 0)
	b.Status = statusFromRunner(rec, b.Status.Conditions)
	if rec.Status == runnerapi.StatusCompleted || rec.Status == runnerapi.StatusFailed {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: pollInterval}, nil
}

// definition returns the Backup's live definition, or nil after failing
// the Backup (or deciding to wait for a definition not created yet).
func (r *BackupReconciler) definition(ctx context.Context, b *v1alpha1.Backup) (*v1alpha1.BackupDefinition, ctrl.Result, error) {
	def, err := liveDefinition(ctx, r.Client, b.Namespace, b.Spec.DefinitionRef.Name)
	var gone *errDefinitionGone
	if !errors.As(err, &gone) {
		return def, ctrl.Result{}, err
	}
	if b.Status.BackupID != "" {
		r.fail(b, gone.Error()+" while backup "+b.Status.BackupID+" ran. A stopping runner finishes its backup first "+
			"(up to spec.runner.drainTimeout): if it did, the backup is in storage"+definitionGoneHint)
		return nil, ctrl.Result{}, nil
	}
	// Only a Backup that never saw its definition waits for it to arrive.
	fwd := meta.FindStatusCondition(b.Status.Conditions, ConditionForwarded)
	neverSeen := fwd == nil || fwd.Reason == ReasonDefinitionNotFound
	if neverSeen && !gone.deleting && r.now().Sub(b.CreationTimestamp.Time) < definitionArrivalGrace {
		b.Status.Phase = v1alpha1.BackupPending
		setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionFalse, ReasonDefinitionNotFound, gone.Error())
		return nil, ctrl.Result{RequeueAfter: 5 * time.Second}, nil
	}
	r.fail(b, gone.Error()+": no runner can take this backup"+definitionGoneHint)
	return nil, ctrl.Result{}, nil
}

// runnerOutOfReach retries after wait, or fails the Backup once its runner
// has been out of reach for too long.
func (r *BackupReconciler) runnerOutOfReach(b *v1alpha1.Backup, def *v1alpha1.BackupDefinition, err error, wait time.Duration) (ctrl.Result, error) {
	limit := runnerLostAfter(def)
	if !noteRunner(&b.Status.Conditions, b.Generation, err, r.now(), limit) {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	what := "the backup was never started"
	if b.Status.BackupID != "" {
		what = "backup " + b.Status.BackupID + " may still have been committed (see the definition's mirrored Backups)"
	}
	r.fail(b, lostMessage(what, limit, err))
	return ctrl.Result{}, nil
}

func (r *BackupReconciler) fail(b *v1alpha1.Backup, msg string) {
	b.Status.Phase = v1alpha1.BackupFailed
	b.Status.Error = msg
	if b.Status.EndTime == nil {
		now := metav1.NewTime(r.now())
		b.Status.EndTime = &now
	}
}

func (r *BackupReconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

func setForwarded(conds *[]metav1.Condition, gen int64, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{Type: ConditionForwarded, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen})
}

// SetupWithManager registers the reconciler: every event of a user-created
// Backup, and spec changes of mirrored ones (their status changes with every
// sync of the catalog, which is no work for this reconciler).
func (r *BackupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	userCreated := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()[LabelMirrored] != "true" })
	return ctrl.NewControllerManagedBy(mgr).Named("backup").For(&v1alpha1.Backup{}).
		WithEventFilter(predicate.Or(userCreated, predicate.GenerationChangedPredicate{})).Complete(r)
}
