package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// runnerState says whether the definition's runner pod runs and is ready
// (its readiness check passes: storage reachable, storage lease held) and,
// when it is not, why: a Ready condition reason and words for its message.
// Ready=True means a backup can start now, not only that the runner objects
// were written.
func (r *DefinitionReconciler) runnerState(ctx context.Context, def *v1alpha1.BackupDefinition) (ready bool, reason, why string, err error) {
	name := RunnerName(def.Namespace, def.Name)
	sts := &appsv1.StatefulSet{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.OperatorNamespace, Name: name}, sts); err != nil {
		if apierrors.IsNotFound(err) {
			return false, ReasonRunnerNotReady, "runner StatefulSet " + r.OperatorNamespace + "/" + name + " was written but is not seen yet", nil
		}
		return false, "", "", err
	}
	if sts.Status.ReadyReplicas > 0 {
		return true, "", "", nil
	}
	// Uncached, by name: a cache would hold every pod of the operator
	// namespace, and only an unready runner is looked at.
	pod := &corev1.Pod{}
	podName := name + "-0"
	if err := r.Reader.Get(ctx, types.NamespacedName{Namespace: r.OperatorNamespace, Name: podName}, pod); err != nil {
		if apierrors.IsNotFound(err) {
			return false, ReasonRunnerNotReady, fmt.Sprintf("runner pod %s/%s does not exist yet (kubectl -n %s describe statefulset %s says why, if it stays so)",
				r.OperatorNamespace, podName, r.OperatorNamespace, name), nil
		}
		return false, "", "", err
	}
	if runningUnready(pod) {
		if reason, msg, ok := r.runnerSaysWhy(ctx, def, pod); ok {
			return false, reason, "runner pod " + pod.Namespace + "/" + pod.Name + " is running but not ready: " + msg, nil
		}
	}
	return false, ReasonRunnerNotReady, describeRunnerPod(pod), nil
}

// runningUnready: the runner container runs and fails its readiness check,
// so the runner itself can say why.
func runningUnready(pod *corev1.Pod) bool {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.State.Running != nil && !cs.Ready {
			return true
		}
	}
	return false
}

// readinessTimeout bounds the question to an unready runner: the answer
// only improves a condition's words.
const readinessTimeout = 5 * time.Second

// runnerSaysWhy asks an unready runner why (GET /v1/readiness, at its
// pod's address). ok is false when it could not be asked or says it is
// ready by now: the pod's state is all there is then.
func (r *DefinitionReconciler) runnerSaysWhy(ctx context.Context, def *v1alpha1.BackupDefinition, pod *corev1.Pod) (reason, msg string, ok bool) {
	rc, err := r.Runners.forPod(ctx, def.Namespace, def.Name, pod)
	if err != nil {
		return "", "", false
	}
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	rd, err := rc.Readiness(ctx)
	if err != nil || rd.Ready {
		return "", "", false
	}
	return readinessReason(rd.Reason), rd.Message, true
}

// readinessReason is the Ready condition's reason for a runner's readiness
// reason: the two a user acts on differently get their own.
func readinessReason(runnerReason string) string {
	switch runnerReason {
	case runnerapi.ReadinessStorageUnreachable:
		return ReasonStorageUnreachable
	case runnerapi.ReadinessLeaseHeld:
		return ReasonLeaseHeld
	}
	return ReasonRunnerNotReady
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
