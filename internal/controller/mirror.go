package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/retention"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/units"
)

// DefaultSyncInterval is how often a definition's catalog is mirrored.
const DefaultSyncInterval = 30 * time.Second

// syncCatalog is step 5 of a definition's reconcile: mirror the runner's
// catalog as Backup objects. A runner that cannot be reached is a condition,
// never a reason to delete Backups.
func (r *DefinitionReconciler) syncCatalog(ctx context.Context, def *v1alpha1.BackupDefinition) (ctrl.Result, error) {
	every := r.SyncInterval
	if every <= 0 {
		every = DefaultSyncInterval
	}
	c := conditionsOf(&def.Status.Conditions, def.Generation, r.Clock)
	// A runner that is not ready yet cannot answer; do not wait on it.
	if ready, err := r.runnerReady(ctx, def); err != nil || !ready {
		c.set(ConditionRunnerReachable, metav1.ConditionFalse, ReasonRunnerNotReady, "the runner pod is not ready")
		return ctrl.Result{RequeueAfter: every}, err
	}
	rc, err := r.Runners.forDefinition(ctx, def.Namespace, def.Name)
	var items []runnerapi.Backup
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		items, err = rc.Backups(cctx)
		cancel()
	}
	if err != nil {
		c.set(ConditionRunnerReachable, metav1.ConditionFalse, ReasonUnreachable, err.Error())
		return ctrl.Result{RequeueAfter: every}, nil
	}
	c.set(ConditionRunnerReachable, metav1.ConditionTrue, ReasonReachable, fmt.Sprintf("%d backups in the catalog", len(items)))
	// 6. Reader and writer pods for volumes, polled quickly while a backup
	// runs or a volume waits.
	if hasVolumeTargets(def) {
		pending, err := r.syncReaders(ctx, def, rc)
		var refused *readerRefusedError
		if errors.As(err, &refused) {
			meta.SetStatusCondition(&def.Status.Conditions, metav1.Condition{Type: ConditionVolumeReaders, Status: metav1.ConditionFalse,
				Reason: "PodForbidden", Message: refused.Error(), ObservedGeneration: def.Generation})
			return ctrl.Result{RequeueAfter: min(every, readerPoll)}, nil
		}
		if err != nil {
			return ctrl.Result{RequeueAfter: every}, err
		}
		if pending > 0 {
			meta.SetStatusCondition(&def.Status.Conditions, metav1.Condition{Type: ConditionVolumeReaders, Status: metav1.ConditionTrue,
				Reason: "PodsCreated", Message: fmt.Sprintf("%d volume reader or writer pods", pending), ObservedGeneration: def.Generation})
		}
		if pending > 0 || running(items) {
			every = min(every, readerPoll)
		}
	}
	r.syncProving(ctx, def, rc)
	for _, b := range items {
		if b.Status == phase.Completed && (def.Status.LastBackupTime == nil || b.StartTime.After(def.Status.LastBackupTime.Time)) {
			def.Status.LastBackupTime = &metav1.Time{Time: b.StartTime}
		}
	}
	return ctrl.Result{RequeueAfter: every}, r.mirror(ctx, def, items)
}

// readerPoll: while a volume backup runs, its reader pod should start soon.
const readerPoll = 3 * time.Second

func running(items []runnerapi.Backup) bool {
	for _, b := range items {
		if b.Status.InFlight() {
			return true
		}
	}
	return false
}

// runnerReady: the runner StatefulSet reports a ready replica.
func (r *DefinitionReconciler) runnerReady(ctx context.Context, def *v1alpha1.BackupDefinition) (bool, error) {
	sts := &appsv1.StatefulSet{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.OperatorNamespace, Name: RunnerName(def.Namespace, def.Name)}, sts)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil && sts.Status.ReadyReplicas > 0, err
}

// mirror creates, updates and deletes Backup objects to match the catalog.
// Backups a user created (on-demand) are left to the Backup reconciler.
func (r *DefinitionReconciler) mirror(ctx context.Context, def *v1alpha1.BackupDefinition, items []runnerapi.Backup) error {
	var existing v1alpha1.BackupList
	if err := r.Client.List(ctx, &existing, client.InNamespace(def.Namespace), client.MatchingLabels{LabelDefinition: LabelValue(def.Name)}); err != nil {
		return err
	}
	byID := map[string]*v1alpha1.Backup{}
	userByID := map[string]*v1alpha1.Backup{}
	for i := range existing.Items {
		b := &existing.Items[i]
		if b.Labels[LabelMirrored] == "true" {
			byID[b.Status.BackupID] = b
		} else if b.Status.BackupID != "" {
			userByID[b.Status.BackupID] = b
		}
	}
	seen := map[string]bool{}
	var errs []error
	for _, item := range items {
		seen[item.ID] = true
		switch user := userByID[item.ID]; {
		case user != nil:
			// Until it is final a user's Backup is the Backup reconciler's;
			// then its labels follow the runner's, as mirrored ones do. A
			// mirrored copy made before the user's Backup had its id goes.
			if user.Status.Phase.Final() && item.Status.Final() {
				errs = append(errs, r.upsertMirrored(ctx, def, user, item))
			}
			if dup := byID[item.ID]; dup != nil {
				delete(byID, item.ID)
				errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, dup)))
			}
		case item.Trigger == string(manifest.TriggerManual) && item.Status.InFlight():
			// An on-demand backup in flight is its Backup's, whose id the
			// cache may not show yet: mirroring it now made a second
			// Backup object of the same backup.
		case item.Status != phase.Pending:
			errs = append(errs, r.upsertMirrored(ctx, def, byID[item.ID], item))
		}
	}
	for id, b := range byID {
		if !seen[id] { // retention deleted it
			if err := r.Client.Delete(ctx, b); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (r *DefinitionReconciler) upsertMirrored(ctx context.Context, def *v1alpha1.BackupDefinition, b *v1alpha1.Backup, item runnerapi.Backup) error {
	if b == nil {
		b = &v1alpha1.Backup{
			ObjectMeta: metav1.ObjectMeta{Namespace: def.Namespace, Name: mirroredBackupName(def.Name, item.ID),
				Labels: map[string]string{LabelMirrored: "true", LabelDefinition: LabelValue(def.Name), LabelManagedBy: managerName}},
			// The first generation is the runner's own state: nothing to forward.
			Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: def.Name},
				Pinned: slices.Contains(item.Labels, retention.LabelPinned)},
		}
		if err := r.Client.Create(ctx, b); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	want := b.DeepCopy()
	want.Status = statusFromRunner(item, b.Status.Conditions)
	want.Status.Progress = progressOf(b.Status.Progress, item.Status, item.Progress, r.Clock.Now())
	// A scheduled backup seen failing (not an old failure record mirrored
	// again for a re-created definition) is told on the definition.
	if item.Status == phase.Failed && !b.Status.Phase.Final() && b.Labels[LabelMirrored] == "true" &&
		item.EndTime.After(def.CreationTimestamp.Time) {
		eventBackupFailed(r.Events, def, b, "backup", item.ID, item.Error)
	}
	return patchStatus(ctx, r.Client, b, want)
}

// statusFromRunner is a Backup's status as the runner reports it.
func statusFromRunner(item runnerapi.Backup, conds []metav1.Condition) v1alpha1.BackupStatus {
	st := v1alpha1.BackupStatus{Phase: v1alpha1.BackupPhaseOf(item.Status), BackupID: item.ID, Labels: item.Labels,
		Error: item.Error, Offsite: item.Offsite, Conditions: conds}
	if !item.ProvenRestorableTime.IsZero() {
		st.ProvenRestorableTime = &metav1.Time{Time: item.ProvenRestorableTime}
	}
	if !item.StartTime.IsZero() {
		st.StartTime = &metav1.Time{Time: item.StartTime}
	}
	if !item.EndTime.IsZero() {
		st.EndTime = &metav1.Time{Time: item.EndTime}
	}
	var total int64
	for _, t := range item.Targets {
		total += t.Size
		st.Targets = append(st.Targets, v1alpha1.BackupTargetStatus{Name: t.Name, Engine: t.Engine, SizeBytes: t.Size, SHA256: t.SHA256,
			ServerVersion: t.ServerVersion, ToolVersion: t.ToolVersion})
	}
	if len(item.Targets) > 0 {
		st.Size = units.Bytes(total)
	}
	return st
}

// deleteMirrored removes a deleted definition's mirrored Backups: they
// mirror what a running definition manages, and no runner serves them any
// more. The backups stay in storage; re-creating the definition with the
// same name and storage mirrors them again. Backups a user created are
// theirs and stay (the Backup reconciler ends any still in flight).
func (r *DefinitionReconciler) deleteMirrored(ctx context.Context, def *v1alpha1.BackupDefinition) error {
	var list v1alpha1.BackupList
	if err := r.Client.List(ctx, &list, client.InNamespace(def.Namespace),
		client.MatchingLabels{LabelMirrored: "true", LabelDefinition: LabelValue(def.Name)}); err != nil {
		return err
	}
	var errs []error
	for i := range list.Items {
		if err := r.Client.Delete(ctx, &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
