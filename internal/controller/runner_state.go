package controller

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// runnerState says whether the definition's runner pod runs and is ready
// (its readiness check passes: storage reachable, storage lease held) and,
// when it is not, why, in words for the Ready condition. Ready=True means a
// backup can start now, not only that the runner objects were written.
func (r *DefinitionReconciler) runnerState(ctx context.Context, def *v1alpha1.BackupDefinition) (ready bool, why string, err error) {
	name := RunnerName(def.Namespace, def.Name)
	sts := &appsv1.StatefulSet{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.OperatorNamespace, Name: name}, sts); err != nil {
		if apierrors.IsNotFound(err) {
			return false, "runner StatefulSet " + r.OperatorNamespace + "/" + name + " was written but is not seen yet", nil
		}
		return false, "", err
	}
	if sts.Status.ReadyReplicas > 0 {
		return true, "", nil
	}
	// Uncached, by name: a cache would hold every pod of the operator
	// namespace, and only an unready runner is looked at.
	pod := &corev1.Pod{}
	podName := name + "-0"
	if err := r.Reader.Get(ctx, types.NamespacedName{Namespace: r.OperatorNamespace, Name: podName}, pod); err != nil {
		if apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("runner pod %s/%s does not exist yet (kubectl -n %s describe statefulset %s says why, if it stays so)",
				r.OperatorNamespace, podName, r.OperatorNamespace, name), nil
		}
		return false, "", err
	}
	return false, describeRunnerPod(pod), nil
}

// describeRunnerPod says why a runner pod is not ready.
func describeRunnerPod(pod *corev1.Pod) string {
	where := "runner pod " + pod.Namespace + "/" + pod.Name
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return fmt.Sprintf("%s cannot be scheduled: %s: %s", where, c.Reason, c.Message)
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
			msg := fmt.Sprintf("%s: container %s is waiting: %s", where, cs.Name, w.Reason)
			if w.Message != "" {
				msg += ": " + w.Message
			}
			if t := cs.LastTerminationState.Terminated; t != nil {
				msg += fmt.Sprintf(" (it last exited with code %d: %s; kubectl -n %s logs --previous %s)",
					t.ExitCode, strings.TrimSpace(t.Reason+" "+t.Message), pod.Namespace, pod.Name)
			}
			return msg
		}
		if cs.State.Running != nil && !cs.Ready {
			return where + " is running but not ready: the runner is ready once its storage answers and it holds the storage's lease " +
				"(kubectl -n " + pod.Namespace + " logs " + pod.Name + " says which is missing)"
		}
	}
	return fmt.Sprintf("%s is %s, not ready yet", where, pod.Status.Phase)
}
