package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
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
