package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
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
	Client  client.Client
	Runners RunnerCalls
	Events  events.EventRecorder
}

// Reconcile: resolve the backup, start the restore once, poll to the end.
func (r *RestoreReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	rs := &v1alpha1.Restore{}
	if err := r.Client.Get(ctx, req.NamespacedName, rs); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if rs.Status.Phase == v1alpha1.RestoreCompleted || rs.Status.Phase == v1alpha1.RestoreFailed {
		return ctrl.Result{}, nil
	}
	before := rs.Status.DeepCopy()
	res, err := r.step(ctx, rs)
	eventOnPhase(r.Events, rs, string(before.Phase), string(rs.Status.Phase), string(v1alpha1.RestoreCompleted), string(v1alpha1.RestoreFailed),
		"restore of backup "+rs.Status.BackupID+" "+strings.ToLower(string(rs.Status.Phase))+" "+rs.Status.Error)
	if !equality.Semantic.DeepEqual(before, &rs.Status) {
		orig := rs.DeepCopy()
		orig.Status = *before
		if perr := r.Client.Status().Patch(ctx, rs, client.MergeFrom(orig)); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	return res, err
}

func (r *RestoreReconciler) step(ctx context.Context, rs *v1alpha1.Restore) (ctrl.Result, error) {
	definition, backupID, err := r.resolve(ctx, rs)
	if err != nil {
		r.fail(rs, err.Error())
		return ctrl.Result{}, nil
	}
	rc, err := r.Runners.forDefinition(ctx, rs.Namespace, definition)
	if err != nil {
		setForwarded(&rs.Status.Conditions, rs.Generation, metav1.ConditionFalse, "RunnerNotFound", err.Error())
		return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
	}
	if rs.Status.RunnerRestoreID == "" {
		rec, err := rc.startRestore(ctx, runnerapi.RestoreRequest{BackupID: backupID, Target: rs.Spec.Target, IntoDatabase: rs.Spec.IntoDatabase, Clean: rs.Spec.Clean,
			IgnoreDatabaseProperties: rs.Spec.IgnoreDatabaseProperties})
		switch {
		case errors.Is(err, errRunnerInvalid) || errors.Is(err, errRunnerNotFound):
			r.fail(rs, err.Error())
			return ctrl.Result{}, nil
		case err != nil:
			rs.Status.Phase = v1alpha1.RestorePending
			setForwarded(&rs.Status.Conditions, rs.Generation, metav1.ConditionFalse, ReasonUnreachable, err.Error())
			return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
		}
		setForwarded(&rs.Status.Conditions, rs.Generation, metav1.ConditionTrue, "Accepted", "runner started restore "+rec.ID)
		rs.Status.RunnerRestoreID = rec.ID
		applyRestore(rs, rec)
		return ctrl.Result{RequeueAfter: pollInterval}, nil
	}
	rec, err := rc.restore(ctx, rs.Status.RunnerRestoreID)
	if errors.Is(err, errRunnerNotFound) {
		r.fail(rs, "the runner has no record of restore "+rs.Status.RunnerRestoreID+" (it restarted): check the database, then create a new Restore")
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
	}
	applyRestore(rs, rec)
	if rec.Status == runnerapi.StatusCompleted || rec.Status == runnerapi.StatusFailed {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: pollInterval}, nil
}

// resolve finds the definition and the runner's backup id ("latest" allowed).
func (r *RestoreReconciler) resolve(ctx context.Context, rs *v1alpha1.Restore) (definition, backupID string, err error) {
	switch {
	case rs.Spec.LatestOf != nil:
		return rs.Spec.LatestOf.Name, runnerapi.Latest, nil
	case rs.Spec.BackupRef != nil:
		b := &v1alpha1.Backup{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: rs.Namespace, Name: rs.Spec.BackupRef.Name}, b); err != nil {
			return "", "", fmt.Errorf("backupRef %q: %w", rs.Spec.BackupRef.Name, err)
		}
		if b.Status.Phase != v1alpha1.BackupCompleted || b.Status.BackupID == "" {
			return "", "", fmt.Errorf("Backup %q is %s, not Completed", b.Name, b.Status.Phase)
		}
		return b.Spec.DefinitionRef.Name, b.Status.BackupID, nil
	}
	return "", "", errors.New("spec needs backupRef or latestOf")
}

func applyRestore(rs *v1alpha1.Restore, rec runnerapi.Restore) {
	rs.Status.Phase = v1alpha1.RestorePhase(rec.Status)
	rs.Status.BackupID = rec.BackupID
	rs.Status.Error = rec.Error
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
	now := metav1.Now()
	rs.Status.EndTime = &now
}

// SetupWithManager registers the reconciler.
func (r *RestoreReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("restore").For(&v1alpha1.Restore{}).Complete(r)
}
