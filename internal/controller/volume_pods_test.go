package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// TestReaderPodsPullWithTheDefinitionsSecrets: reader and writer pods run
// in the definition's namespace and pull the runner image with the
// Secrets spec.runner.imagePullSecrets names there.
func TestReaderPodsPullWithTheDefinitionsSecrets(t *testing.T) {
	r := &DefinitionReconciler{Settings: Settings{RunnerImage: "registry.example/coffer-runner:1", ImagePullSecrets: []string{"operator-only"}}}
	def := &v1alpha1.BackupDefinition{Spec: v1alpha1.BackupDefinitionSpec{Runner: &v1alpha1.RunnerSettings{
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}}}}
	for _, dir := range []string{runnerapi.DirectionBackup, runnerapi.DirectionRestore} {
		spec := r.readerPodSpec(def, "s", runnerapi.VolumePush{Direction: dir, PersistentVolumeClaim: "data", Path: "/data"})
		if len(spec.ImagePullSecrets) != 1 || spec.ImagePullSecrets[0].Name != "regcred" || spec.Containers[0].Image != "registry.example/coffer-runner:1" {
			t.Errorf("%s pod: image %s, pull secrets %v; want regcred only (the operator's live in its own namespace)",
				dir, spec.Containers[0].Image, spec.ImagePullSecrets)
		}
	}
	if spec := r.readerPodSpec(&v1alpha1.BackupDefinition{}, "s", runnerapi.VolumePush{}); spec.ImagePullSecrets != nil {
		t.Errorf("pull secrets %v without any named", spec.ImagePullSecrets)
	}
}
