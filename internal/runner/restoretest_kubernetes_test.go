package runner_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// kubeconfig is env's admin kubeconfig with inline credentials, acting as
// user (impersonation) when user is set.
func kubeconfig(t *testing.T, env *testutil.Envtest, user string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{ClientCertificateData: env.Config.CertData, ClientKeyData: env.Config.KeyData,
		Token: env.Config.BearerToken, Impersonate: user}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "u"}
	kc.CurrentContext = "envtest"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// kubeConfig is a runner config backing up namespace ns through
// kubeconfig kc into dir, restore-testing the target cluster.
func kubeConfig(t *testing.T, dir, ns, kc string, id *age.X25519Identity) *config.Config {
	t.Helper()
	yaml := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: local}
spec: {filesystem: {path: %q}, encryption: {recipients: [%s], identitySecretRef: {name: age, key: identity}}}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: shop, namespace: test}
spec:
  storageRef: {name: local}
  targets:
  - name: cluster
    kubernetes: {includedNamespaces: [%s], kubeconfigSecretRef: {name: kube, key: config}}
  restoreTest: {schedule: "0 4 * * *", targets: [{name: cluster}]}
---
apiVersion: v1
kind: Secret
metadata: {name: kube}
data: {config: %s}
---
apiVersion: v1
kind: Secret
metadata: {name: age}
stringData: {identity: %q}
`, dir, id.Recipient(), ns, base64.StdEncoding.EncodeToString([]byte(kc)), id.String())
	path := filepath.Join(t.TempDir(), "coffer.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func create(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// TestKubernetesRestoreTest: the restore test of a kubernetes target is a
// server-side dry run whose per-object results account for every object
// the backup's index lists; nothing is created. Run as an identity that
// may only read (as the operator's runner is bound), every object is
// refused and the test fails, saying so.
func TestKubernetesRestoreTest(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := env.CreateNamespace(t)
	labels := map[string]string{"app": "web"}
	create(t, env.Client,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}, Data: map[string]string{"mode": "prod"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}, Data: map[string][]byte{"k": {1, 2}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}}},
	)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := newRunner(t, kubeConfig(t, dir, ns, kubeconfig(t, env, ""), id), runner.Options{})
	ctx := context.Background()
	backup(t, r)

	s := &saved{cat: r.Catalog()}
	rec, err := r.RestoreTest(ctx, "20261129T000000Z-kube", s.save)
	if err != nil || rec.Status != catalog.RestoreTestPassed {
		t.Fatalf("restore test: %v, %+v", err, rec)
	}
	tg := rec.Targets[0]
	if len(tg.Counts) != 2 || tg.Counts[0].Backup < 4 || tg.Counts[0].Backup != tg.Counts[0].Restored ||
		tg.Counts[1].Backup != tg.Counts[1].Restored || !strings.HasPrefix(tg.Server, "kubernetes ") || tg.Created {
		t.Fatalf("target record %+v", tg)
	}
	var cms corev1.ConfigMapList
	if err := env.Client.List(ctx, &cms, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		if cm.Name != "settings" && cm.Name != "kube-root-ca.crt" {
			t.Errorf("the dry run created configmap %s", cm.Name)
		}
	}

	// A reader: may get, list and watch everything, write nothing.
	reader := "coffer-reader-" + ns
	create(t, env.Client,
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: reader},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: reader},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: reader},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: reader}}},
	)
	ro := newRunner(t, kubeConfig(t, dir, ns, kubeconfig(t, env, reader), id), runner.Options{})
	rec, err = ro.RestoreTest(ctx, "20261129T000001Z-kube", s.save)
	if !errors.Is(err, runner.ErrRestoreTest) || rec.Status != catalog.RestoreTestFailed ||
		!strings.Contains(rec.Targets[0].Error, "the server refused") || !strings.Contains(rec.Targets[0].Error, "forbidden") {
		t.Fatalf("restore test as a reader: %v, %+v", err, rec)
	}
	t.Logf("as a reader: %s", rec.Targets[0].Error)
	if c := rec.Targets[0].Counts; len(c) != 2 || c[1].Restored != 0 || c[1].Backup == 0 {
		t.Fatalf("counts as a reader: %+v", c)
	}
}
