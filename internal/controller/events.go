package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// eventOnChange records an Event when a condition changes status or
// reason, so `kubectl describe` tells the story without an Event per
// reconcile. Messages come from conditions, which never hold secret values.
func eventOnChange(rec events.EventRecorder, obj runtime.Object, before, after []metav1.Condition, condType string) {
	if rec == nil {
		return
	}
	now := meta.FindStatusCondition(after, condType)
	if now == nil {
		return
	}
	if old := meta.FindStatusCondition(before, condType); old != nil && old.Status == now.Status && old.Reason == now.Reason {
		return
	}
	kind := corev1.EventTypeNormal
	if now.Status == metav1.ConditionFalse {
		kind = corev1.EventTypeWarning
	}
	rec.Eventf(obj, nil, kind, now.Reason, condType, "%s", now.Message)
}

// eventOnPhase records an Event when a Backup or Restore reaches a final phase.
func eventOnPhase(rec events.EventRecorder, obj runtime.Object, before, after, completed, failed string, msg string) {
	if rec == nil || before == after {
		return
	}
	switch after {
	case completed:
		rec.Eventf(obj, nil, corev1.EventTypeNormal, completed, "Finish", "%s", msg)
	case failed:
		rec.Eventf(obj, nil, corev1.EventTypeWarning, failed, "Finish", "%s", msg)
	}
}

// ReasonBackupFailed is the reason of the Warning Event a definition gets
// for each of its backups that failed, scheduled or on demand, so
// `kubectl describe backupdefinition` tells the story of a failure.
const ReasonBackupFailed = "BackupFailed"

// eventBackupFailed records on the definition that one of its backups
// failed, and why (the runner's or the controller's error, which never
// holds secret values).
func eventBackupFailed(rec events.EventRecorder, def *v1alpha1.BackupDefinition, related runtime.Object, what, id, msg string) {
	if rec == nil || def == nil {
		return
	}
	rec.Eventf(def, related, corev1.EventTypeWarning, ReasonBackupFailed, "Backup", "%s %s failed: %s", what, id, msg)
}
