package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// RestoreReconciler forwards Restores to the definition's runner and
// reports progress and result in their status.
type RestoreReconciler struct {
	Client client.Client
	// Reader reads restore grants uncached (restore_grant.go).
	Reader  client.Reader
	Runners RunnerCalls
	Events  events.EventRecorder
	Clock   Clock
	// OperatorNamespace: its definitions restore across namespaces.
	OperatorNamespace string
}

// Reconcile: fetch, leave a finished Restore alone, the steps, then write
// what changed.
func (r *RestoreReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rs := &v1alpha1.Restore{}
	if err := r.Client.Get(ctx, req.NamespacedName, rs); apierrors.IsNotFound(err) {
		// A deleted Restore leaves no write rights behind.
		return ctrl.Result{}, r.deleteGrant(ctx, req.NamespacedName)
	} else if err != nil {
		return ctrl.Result{}, err
	}
	before := rs.DeepCopy()
	var res ctrl.Result
	var err error
	if !rs.Status.Phase.Final() {
		res, err = r.steps(ctx, rs)
	}
	if rs.Status.Phase.Final() {
		// Whatever the phase, also after a restart: the grant ends with it.
		err = errors.Join(err, r.revoke(ctx, rs))
	}
	failed := v1alpha1.RestoreFailed
	if rs.Status.Phase == v1alpha1.RestorePartiallyFailed {
		failed = v1alpha1.RestorePartiallyFailed // a Warning too
	}
	eventOnPhase(r.Events, rs, string(before.Status.Phase), string(rs.Status.Phase), string(v1alpha1.RestoreCompleted), string(failed),
		"restore of backup "+rs.Status.BackupID+" "+strings.ToLower(string(rs.Status.Phase))+" "+rs.Status.Error)
	if perr := patchStatus(ctx, r.Client, before, rs); perr != nil {
		err = errors.Join(err, perr)
	}
	return res, err
}

// steps are the Restore's idempotent steps.
func (r *RestoreReconciler) steps(ctx context.Context, rs *v1alpha1.Restore) (ctrl.Result, error) {
	// 1. The backup to restore and its live definition.
	definition, backupID, err := r.resolve(ctx, rs)
	if err != nil {
		return r.failOn(rs, err)
	}
	def, err := liveDefinition(ctx, r.Client, rs.Namespace, definition)
	if err != nil {
		return r.failOn(rs, err)
	}
	// 2. Its runner.
	c := conditionsOf(&rs.Status.Conditions, rs.Generation, r.Clock)
	rc, err := r.Runners.forDefinition(ctx, rs.Namespace, definition)
	if err != nil {
		c.set(ConditionForwarded, metav1.ConditionFalse, ReasonRunnerNotFound, err.Error())
		return r.runnerOutOfReach(rs, c, def, err, noRunnerRetry)
	}
	// 3. Start the restore once, with write rights when it writes to the API.
	if rs.Status.RunnerRestoreID == "" {
		ko, err := r.kubernetesOptions(rs, def)
		if err != nil {
			return r.failOn(rs, err)
		}
		if restoresThroughPod(def, rs.Spec.Target) {
			ready, err := r.grant(ctx, rs, def, c)
			if err != nil {
				return r.failOn(rs, err)
			}
			if !ready {
				rs.Status.Phase = v1alpha1.RestorePending
				return ctrl.Result{RequeueAfter: grantRetry}, nil
			}
		}
		return r.start(ctx, rs, c, def, rc, backupID, ko)
	}
	// 4. Follow it to the end.
	return r.poll(ctx, rs, c, def, rc)
}

// start asks the runner for the restore. A request the runner refuses
// fails at once; a busy runner is asked again. Asking twice is safe: the
// Restore's uid is the request key.
func (r *RestoreReconciler) start(ctx context.Context, rs *v1alpha1.Restore, c conditions, def *v1alpha1.BackupDefinition,
	rc *runnerapi.Client, backupID string, ko *v1alpha1.KubernetesRestoreOptions) (ctrl.Result, error) {
	rec, err := rc.StartRestore(ctx, runnerapi.RestoreRequest{BackupID: backupID, Target: rs.Spec.Target, IntoDatabase: rs.Spec.IntoDatabase,
		Clean: rs.Spec.Clean, IgnoreDatabaseProperties: rs.Spec.IgnoreDatabaseProperties, From: rs.Spec.From, Kubernetes: ko,
		// The uid: a start whose answer was lost (a crash, a failed status
		// write) gets the same restore when asked again, never a second.
		RequestKey: string(rs.UID)})
	switch {
	case errors.Is(err, runnerapi.ErrInvalid) || errors.Is(err, runnerapi.ErrNotFound):
		r.fail(rs, err.Error())
		return ctrl.Result{}, nil
	case errors.Is(err, runnerapi.ErrBusy):
		noteRunner(c, nil, 0)
		rs.Status.Phase = v1alpha1.RestorePending
		c.set(ConditionForwarded, metav1.ConditionFalse, ReasonRunnerBusy, err.Error())
		return ctrl.Result{RequeueAfter: busyRetry}, nil
	case err != nil:
		rs.Status.Phase = v1alpha1.RestorePending
		c.set(ConditionForwarded, metav1.ConditionFalse, ReasonUnreachable, err.Error())
		return r.runnerOutOfReach(rs, c, def, err, unreachableRetry)
	}
	noteRunner(c, nil, 0)
	c.set(ConditionForwarded, metav1.ConditionTrue, ReasonAccepted, "runner started restore "+rec.ID)
	rs.Status.RunnerRestoreID = rec.ID
	applyRestore(rs, rec)
	return ctrl.Result{RequeueAfter: pollInterval}, nil
}

// poll mirrors the runner's record of the restore until it ends.
func (r *RestoreReconciler) poll(ctx context.Context, rs *v1alpha1.Restore, c conditions, def *v1alpha1.BackupDefinition,
	rc *runnerapi.Client) (ctrl.Result, error) {
	rec, err := rc.Restore(ctx, rs.Status.RunnerRestoreID)
	switch {
	case errors.Is(err, runnerapi.ErrNotFound):
		// Records are kept in storage (the newest 50): an unknown one was
		// pruned, or the runner now writes to another storage.
		r.fail(rs, "the runner has no record of restore "+rs.Status.RunnerRestoreID+" (its storage changed, or the record was pruned): check the destination")
		return ctrl.Result{}, nil
	case err != nil:
		return r.runnerOutOfReach(rs, c, def, err, unreachableRetry)
	}
	noteRunner(c, nil, 0)
	applyRestore(rs, rec)
	rs.Status.Progress = progressOf(rs.Status.Progress, rec.Status, rec.Progress, r.Clock.Now())
	if rec.Status.Final() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: pollInterval}, nil
}

// errCannotServe marks a Restore that no runner can carry out: it fails at
// once rather than being retried.
var errCannotServe = errors.New("cannot be served")

// failOn fails the Restore for errors that say it cannot be served, and
// returns other errors to be retried with backoff.
func (r *RestoreReconciler) failOn(rs *v1alpha1.Restore, err error) (ctrl.Result, error) {
	var gone *errDefinitionGone
	switch {
	case errors.As(err, &gone) && rs.Status.RunnerRestoreID != "":
		r.fail(rs, gone.Error()+" while restore "+rs.Status.RunnerRestoreID+" ran. A stopping runner finishes its restore first "+
			"(up to spec.runner.drainTimeout), but no one can report its outcome now: check the destination"+definitionGoneHint)
	case errors.As(err, &gone):
		r.fail(rs, gone.Error()+": no runner can restore from it"+definitionGoneHint)
	case errors.Is(err, errCannotServe):
		r.fail(rs, err.Error())
	default:
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// runnerOutOfReach retries after wait, or fails the Restore once its runner
// has been out of reach for too long.
func (r *RestoreReconciler) runnerOutOfReach(rs *v1alpha1.Restore, c conditions, def *v1alpha1.BackupDefinition, err error, wait time.Duration) (ctrl.Result, error) {
	limit := runnerLostAfter(def)
	if !noteRunner(c, err, limit) {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	what := "the restore was never started"
	if rs.Status.RunnerRestoreID != "" {
		what = "restore " + rs.Status.RunnerRestoreID + " may have finished or not: check the destination"
	}
	r.fail(rs, lostMessage(what, limit, err))
	return ctrl.Result{}, nil
}

// resolve finds the definition and the runner's backup id ("latest" allowed).
func (r *RestoreReconciler) resolve(ctx context.Context, rs *v1alpha1.Restore) (definition, backupID string, err error) {
	switch {
	case rs.Spec.LatestOf != nil:
		return rs.Spec.LatestOf.Name, runnerapi.Latest, nil
	case rs.Spec.BackupRef != nil:
		b := &v1alpha1.Backup{}
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: rs.Namespace, Name: rs.Spec.BackupRef.Name}, b)
		if apierrors.IsNotFound(err) {
			return "", "", fmt.Errorf("%w: Backup %q does not exist (deleting a BackupDefinition deletes its mirrored Backups; "+
				"restore with latestOf, or see docs/operator.md, \"Deleting a definition\")", errCannotServe, rs.Spec.BackupRef.Name)
		}
		if err != nil {
			return "", "", fmt.Errorf("backupRef %q: %w", rs.Spec.BackupRef.Name, err)
		}
		if b.Status.Phase != v1alpha1.BackupCompleted || b.Status.BackupID == "" {
			return "", "", fmt.Errorf("%w: Backup %q is %s, not Completed", errCannotServe, b.Name, b.Status.Phase)
		}
		return b.Spec.DefinitionRef.Name, b.Status.BackupID, nil
	}
	return "", "", fmt.Errorf("%w: spec needs backupRef or latestOf", errCannotServe)
}

func applyRestore(rs *v1alpha1.Restore, rec runnerapi.Restore) {
	rs.Status.Phase = v1alpha1.RestorePhaseOf(rec.Status)
	rs.Status.BackupID = rec.BackupID
	rs.Status.Error = rec.Error
	rs.Status.FailedItemCount = rec.FailedItemCount
	rs.Status.FailedItems = nil
	for _, f := range rec.FailedItems {
		rs.Status.FailedItems = append(rs.Status.FailedItems, v1alpha1.RestoreFailedItem{Target: f.Target, Item: f.Item, Reason: f.Reason})
	}
	if !rec.StartTime.IsZero() {
		rs.Status.StartTime = &metav1.Time{Time: rec.StartTime}
	}
	if !rec.EndTime.IsZero() {
		rs.Status.EndTime = &metav1.Time{Time: rec.EndTime}
	}
}

func (r *RestoreReconciler) fail(rs *v1alpha1.Restore, msg string) {
	rs.Status.Phase = v1alpha1.RestoreFailed
	rs.Status.Error = msg
	rs.Status.Progress = nil
	now := metav1.NewTime(r.Clock.Now())
	rs.Status.EndTime = &now
}

// SetupWithManager registers the reconciler.
func (r *RestoreReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("restore").For(&v1alpha1.Restore{}).Complete(r)
}
