package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
