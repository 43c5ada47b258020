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
// backups) and follows them to the end. Mirrored Backups are the definition
// reconciler's.
type BackupReconciler struct {
	Client  client.Client
	Runners RunnerCalls
	Events  events.EventRecorder
}

// Reconcile: trigger once, then poll until Completed or Failed.
func (r *BackupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	b := &v1alpha1.Backup{}
	if err := r.Client.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if b.Labels[LabelMirrored] == "true" || b.Status.Phase == v1alpha1.BackupCompleted || b.Status.Phase == v1alpha1.BackupFailed {
		return ctrl.Result{}, nil
	}
	before := b.DeepCopy()
	res, err := r.step(ctx, b)
	eventOnPhase(r.Events, b, string(before.Status.Phase), string(b.Status.Phase), string(v1alpha1.BackupCompleted), string(v1alpha1.BackupFailed),
		"backup "+b.Status.BackupID+" "+strings.ToLower(string(b.Status.Phase))+" "+b.Status.Error)
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

func (r *BackupReconciler) step(ctx context.Context, b *v1alpha1.Backup) (ctrl.Result, error) {
	if b.Labels == nil {
		b.Labels = map[string]string{}
	}
	b.Labels[LabelDefinition] = b.Spec.DefinitionRef.Name
	rc, err := r.Runners.forDefinition(ctx, b.Namespace, b.Spec.DefinitionRef.Name)
	if err != nil {
		setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionFalse, "RunnerNotFound", err.Error())
		return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
	}
	if b.Status.BackupID == "" {
		rec, err := rc.trigger(ctx)
		if err != nil {
			reason := ReasonUnreachable
			if errors.Is(err, errRunnerBusy) {
				reason = "RunnerBusy"
			}
			b.Status.Phase = v1alpha1.BackupPending
			setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionFalse, reason, err.Error())
			return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
		}
		setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionTrue, "Accepted", "runner started backup "+rec.ID)
		b.Status = statusFromRunner(rec, b.Status.Conditions)
		return ctrl.Result{RequeueAfter: pollInterval}, nil
	}
	rec, err := rc.backup(ctx, b.Status.BackupID)
	if err != nil {
		// Not found or unreachable: keep polling; the runner may be restarting.
		setForwarded(&b.Status.Conditions, b.Generation, metav1.ConditionTrue, ReasonUnreachable, err.Error())
		return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
	}
	b.Status = statusFromRunner(rec, b.Status.Conditions)
	if rec.Status == runnerapi.StatusCompleted || rec.Status == runnerapi.StatusFailed {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: pollInterval}, nil
}

func setForwarded(conds *[]metav1.Condition, gen int64, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conds, metav1.Condition{Type: ConditionForwarded, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen})
}

// SetupWithManager registers the reconciler for user-created Backups.
func (r *BackupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	userCreated := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()[LabelMirrored] != "true" })
	return ctrl.NewControllerManagedBy(mgr).Named("backup").For(&v1alpha1.Backup{}).WithEventFilter(userCreated).Complete(r)
}
