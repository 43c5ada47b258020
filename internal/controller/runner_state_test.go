package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// TestDescribeRunnerPod: the Ready condition of a definition whose runner
// pod is not ready says what the pod is stuck on.
func TestDescribeRunnerPod(t *testing.T) {
	meta := metav1.ObjectMeta{Namespace: "coffer-system", Name: "runner-shop-db-0"}
	for name, tc := range map[string]struct {
		status corev1.PodStatus
		want   []string
	}{
		"image not pulled": {status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "runner",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image \"x\""}}}}},
			want: []string{"runner-shop-db-0", "ImagePullBackOff", "pulling image"}},
		"crash loop": {status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "runner",
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}}}},
			want: []string{"CrashLoopBackOff", "code 2", "logs --previous runner-shop-db-0"}},
		"running, readiness failing": {status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "runner",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
			want: []string{"running but not ready", "storage answers", "lease"}},
		"unschedulable": {status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
			Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: insufficient memory"}}},
			want: []string{"cannot be scheduled", "insufficient memory"}},
	} {
		got := describeRunnerPod(&corev1.Pod{ObjectMeta: meta, Status: tc.status})
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", name, got, w)
			}
		}
	}
}

// TestRunnerStateAsksTheRunner: a runner pod that runs but is not ready is
// asked why, over the real API handler: a storage that does not answer and
// a lease another runner holds get their own Ready reasons and the
// runner's words; anything else, or a runner that cannot be asked, keeps
// RunnerNotReady and the pod's description.
func TestRunnerStateAsksTheRunner(t *testing.T) {
	const storageDown = "storage s3://b/p (endpoint http://10.0.0.9:9000) is not reachable: connection refused"
	const leaseHeld = "lease held by runner-shop-db-0/7/ab12 until 2026-11-21T10:31:00Z"
	for name, tc := range map[string]struct {
		svc    runnerapi.Service // nil: nothing answers
		reason string
		want   string
	}{
		"storage unreachable": {svc: &scriptedRunner{ready: func() error {
			return &runnerapi.NotReadyError{Reason: runnerapi.ReadinessStorageUnreachable, Message: storageDown}
		}}, reason: ReasonStorageUnreachable, want: storageDown},
		"lease held": {svc: &scriptedRunner{ready: func() error {
			return &runnerapi.NotReadyError{Reason: runnerapi.ReadinessLeaseHeld, Message: leaseHeld}
		}}, reason: ReasonLeaseHeld, want: leaseHeld},
		"no lease yet": {svc: &scriptedRunner{ready: func() error {
			return &runnerapi.NotReadyError{Reason: runnerapi.ReadinessLeaseNotHeld, Message: "not holding the lease: runner stopping"}
		}}, reason: ReasonRunnerNotReady, want: "runner stopping"},
		"unclassified": {svc: &scriptedRunner{ready: func() error { return errors.New("config not loaded") }},
			reason: ReasonRunnerNotReady, want: "config not loaded"},
		"ready by now":      {svc: &scriptedRunner{}, reason: ReasonRunnerNotReady, want: "running but not ready"},
		"runner unanswered": {reason: ReasonRunnerNotReady, want: "running but not ready"},
	} {
		t.Run(name, func(t *testing.T) {
			runner := RunnerName(testNS, testDefinition)
			sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: testOperatorNS, Name: runner}}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: testOperatorNS, Name: runner + "-0"},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7", ContainerStatuses: []corev1.ContainerStatus{{Name: "runner",
					State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
			f := newFixture(t, tc.svc, sts, pod)
			r := &DefinitionReconciler{Client: f.client, Reader: f.client, Settings: Settings{OperatorNamespace: testOperatorNS},
				Clock: f.clock, Runners: f.runners}
			def := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: testDefinition}}
			ready, reason, why, err := r.runnerState(context.Background(), def)
			if err != nil || ready {
				t.Fatalf("ready=%v err=%v", ready, err)
			}
			if reason != tc.reason || !strings.Contains(why, tc.want) || !slices.Contains(conditionReasons[ConditionReady], reason) {
				t.Errorf("reason %s, message %q; want %s containing %q", reason, why, tc.reason, tc.want)
			}
		})
	}
}
