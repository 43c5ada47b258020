package controller

import (
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/scheduler"
)

// DefinitionReconciler renders each BackupDefinition's runner, mirrors its
// catalog and starts its volume pods.
type DefinitionReconciler struct {
	Client client.Client
	// Reader reads Secrets uncached: the controller never caches Secret data.
	Reader client.Reader
	Settings
	Clock Clock
	// Runners reaches the runners' APIs.
	Runners RunnerCalls
	// SyncInterval between catalog mirrors; zero means DefaultSyncInterval.
	SyncInterval time.Duration
	// Events records condition changes; nil records none.
	Events events.EventRecorder
}

// Reconcile: fetch, handle deletion, then the steps (render, then mirror).
func (r *DefinitionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	def := &v1alpha1.BackupDefinition{}
	if err := r.Client.Get(ctx, req.NamespacedName, def); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !def.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, def)
	}
	if controllerutil.AddFinalizer(def, Finalizer) {
		if err := r.Client.Update(ctx, def); err != nil {
			return ctrl.Result{}, err
		}
	}
	before := def.DeepCopy()
	res, err := r.render(ctx, def)
	eventOnChange(r.Events, def, before.Status.Conditions, def.Status.Conditions, ConditionReady)
	eventOnChange(r.Events, def, before.Status.Conditions, def.Status.Conditions, ConditionRunnerReachable)
	eventOnChange(r.Events, def, before.Status.Conditions, def.Status.Conditions, ConditionVolumeReaders)
	if perr := patchStatus(ctx, r.Client, before, def); perr != nil {
		err = errors.Join(err, perr)
	}
	return res, err
}

func (r *DefinitionReconciler) finalize(ctx context.Context, def *v1alpha1.BackupDefinition) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(def, Finalizer) {
		return ctrl.Result{}, nil
	}
	if err := r.deleteRunner(ctx, def); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.deleteMirrored(ctx, def); err != nil {
		return ctrl.Result{}, err
	}
	log.FromContext(ctx).Info("runner and mirrored Backups removed; the backups stay in storage", "runner", RunnerName(def.Namespace, def.Name))
	controllerutil.RemoveFinalizer(def, Finalizer)
	return ctrl.Result{}, r.Client.Update(ctx, def)
}

// setReady sets the Ready condition.
func (r *DefinitionReconciler) setReady(def *v1alpha1.BackupDefinition, status metav1.ConditionStatus, reason, msg string) {
	conditionsOf(&def.Status.Conditions, def.Generation, r.Clock).set(ConditionReady, status, reason, msg)
}

func (r *DefinitionReconciler) setNextBackup(def *v1alpha1.BackupDefinition) {
	if def.Spec.Suspend || def.Spec.Schedule == "" {
		def.Status.NextBackupTime = nil
		return
	}
	// The runner's own scheduler says when it fires: one owner of what a
	// schedule means, daylight saving time included.
	t, err := scheduler.NextRun(def.Spec.Schedule, def.Spec.TimeZone, r.Clock.Now())
	if err != nil || t.IsZero() {
		return
	}
	next := metav1.NewTime(t.UTC())
	// Only a change of slot is a status change: no write on every reconcile.
	if def.Status.NextBackupTime == nil || !def.Status.NextBackupTime.Equal(&next) {
		def.Status.NextBackupTime = &next
	}
}
