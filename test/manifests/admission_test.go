package manifests

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestLocalPathsOnlyInOperatorNamespace plays a tenant who asks the runner
// to back up its own config directory: config/admission refuses a
// filesystem target without a PersistentVolumeClaim, and a local git
// repository, outside the operator namespace, however the path is spelled,
// and admits them in the operator namespace.
func TestLocalPathsOnlyInOperatorNamespace(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	applyForReal(ctx, t, env.Client, build(t, "admission"), "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
	operatorNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "coffer-system"}}
	if err := env.Client.Create(ctx, operatorNS); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	tenant := env.CreateNamespace(t)

	withTarget := func(ns string, tg v1alpha1.Target) *v1alpha1.BackupDefinition {
		d := definition(ns)
		d.Spec.Targets = []v1alpha1.Target{tg}
		return d
	}
	attacks := map[string]v1alpha1.Target{
		"config directory":       {Name: "steal", Filesystem: &v1alpha1.FilesystemTarget{Path: "/etc/coffer"}},
		"dot-dot spelling":       {Name: "steal", Filesystem: &v1alpha1.FilesystemTarget{Path: "/etc/../etc/coffer/"}},
		"root":                   {Name: "steal", Filesystem: &v1alpha1.FilesystemTarget{Path: "/"}},
		"local git repository":   {Name: "steal", Git: &v1alpha1.GitTarget{URL: "/etc/coffer"}},
		"file:// git repository": {Name: "steal", Git: &v1alpha1.GitTarget{URL: "file:///etc/coffer"}},
	}
	for name, tg := range attacks {
		t.Run(name, func(t *testing.T) {
			// Admission may take a moment to load a new policy: poll until it denies.
			var err error
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if err = env.Client.Create(ctx, withTarget(tenant, tg), client.DryRunAll); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), "operator namespace") {
				t.Fatalf("tenant definition with %s admitted: %v", name, err)
			}
			if err := env.Client.Create(ctx, withTarget("coffer-system", tg), client.DryRunAll); err != nil {
				t.Fatalf("operator namespace refused: %v", err)
			}
		})
	}
	allowed := map[string]v1alpha1.Target{
		"volume":     {Name: "data", Filesystem: &v1alpha1.FilesystemTarget{Path: "/", PersistentVolumeClaim: "data"}},
		"https git":  {Name: "repo", Git: &v1alpha1.GitTarget{URL: "https://git.example.com/shop.git"}},
		"scp-like":   {Name: "repo", Git: &v1alpha1.GitTarget{URL: "git@git.example.com:shop.git"}},
		"ssh scheme": {Name: "repo", Git: &v1alpha1.GitTarget{URL: "ssh://git@git.example.com/shop.git"}},
	}
	for name, tg := range allowed {
		if err := env.Client.Create(ctx, withTarget(tenant, tg), client.DryRunAll); err != nil {
			t.Errorf("%s refused in a tenant namespace: %v", name, err)
		}
	}
}
