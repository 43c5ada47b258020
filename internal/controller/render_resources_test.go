package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// TestRunnerResources: a definition's spec.runner.resources wins, else the
// controller's --runner-resources, else the built-in default.
func TestRunnerResources(t *testing.T) {
	operator := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	own := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}
	tests := map[string]struct {
		def      *v1alpha1.RunnerSettings
		operator corev1.ResourceRequirements
		want     corev1.ResourceRequirements
	}{
		"nothing set: built in":        {want: DefaultRunnerResources()},
		"operator default":             {operator: operator, want: operator},
		"the definition's own":         {def: &v1alpha1.RunnerSettings{Resources: &own}, operator: operator, want: own},
		"the definition's empty block": {def: &v1alpha1.RunnerSettings{Resources: &corev1.ResourceRequirements{}}, operator: operator, want: operator},
	}
	for name, tc := range tests {
		def := &v1alpha1.BackupDefinition{Spec: v1alpha1.BackupDefinitionSpec{Runner: tc.def}}
		spec := runnerPodSpec(def, Settings{RunnerImage: "img", RunnerResources: tc.operator}, "runner-x")
		if got := spec.Containers[0].Resources; !equality.Semantic.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", name, got, tc.want)
		}
	}
}
