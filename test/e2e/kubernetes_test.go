package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestKubernetesOrderAndRestore: coffer-runner backs up two namespaces of a
// real API server; the stored object, read with age, zstd and tar alone,
// lists the pods in the order orderedResources asks (exact and ~ entries,
// across namespaces), in the config's map form and in the CLI's flat form.
// A dry-run restore into a mapped namespace changes nothing; the restore
// itself recreates the objects there.
func TestKubernetesOrderAndRestore(t *testing.T) {
	for _, tool := range []string{"age", "zstd", "tar"} {
		requireTool(t, tool)
	}
	env := testutil.StartEnvtest(t)
	a, b := env.CreateNamespace(t), env.CreateNamespace(t)
	ctx := context.Background()
	for ns, names := range map[string][]string{a: {"web-1", "web-2", "db", "zz"}, b: {"cache", "p-3"}} {
		for _, name := range names {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
			if err := env.Client.Create(ctx, pod); err != nil {
				t.Fatal(err)
			}
		}
	}
	ordered := "~" + a + "/web-[0-9]+," + b + "/p-3," + a + "/db"
	s := kubernetesSetup(t, env.Config, a, b, ordered)
	key := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(key, []byte(s.identity.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pods := func(id string) []string {
		obj := s.objectPath(storedObject(t, s, id, "resources"))
		var out []string
		for _, line := range strings.Split(sh(t, "age -d -i "+key+" "+obj+" | zstd -d | tar t"), "\n") {
			if strings.HasPrefix(line, "resources/pods/") {
				out = append(out, strings.TrimSuffix(strings.TrimPrefix(line, "resources/pods/namespaces/"), ".json"))
			}
		}
		return out
	}
	rest := func(keys ...string) []string { sort.Strings(keys); return keys }

	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	want := append([]string{a + "/web-1", a + "/web-2", b + "/p-3", a + "/db"}, rest(a+"/zz", b+"/cache")...)
	if got := pods(id); !slices.Equal(got, want) {
		t.Fatalf("pods in the stored tar (config's orderedResources):\n got %v\nwant %v", got, want)
	}
	id2 := strings.TrimSpace(mustRun(t, "backup", "-f", s.path, "--ordered-resources", "pods="+b+"/cache,~.*/zz;configmaps=x/y").stdout)
	want = append([]string{b + "/cache", a + "/zz"}, rest(a+"/web-1", a+"/web-2", a+"/db", b+"/p-3")...)
	if got := pods(id2); !slices.Equal(got, want) {
		t.Fatalf("pods in the stored tar (--ordered-resources):\n got %v\nwant %v", got, want)
	}
	if r := runner(t, nil, "backup", "-f", s.path, "--ordered-resources", "pods=~web-("); r.code != 2 || !strings.Contains(r.stderr, `entry 1 "~web-("`) {
		t.Fatalf("a bad --ordered-resources: exit %d, stderr %s", r.code, r.stderr)
	}

	checkMappedRestore(t, env.Config, s, id, a)
}

// checkMappedRestore: a dry-run restore of namespace a into a mapped one
// changes nothing, the restore itself recreates its pods there.
func checkMappedRestore(t *testing.T, cfg *rest.Config, s *setup, id, a string) {
	t.Helper()
	ctx := context.Background()
	mapped := "copy-" + a
	dry := mustRun(t, "restore", "-f", s.path, "--backup", id, "--namespace-mapping", a+"="+mapped, "--include-namespaces", a, "--dry-run")
	if !strings.Contains(dry.stdout, "dry run") {
		t.Errorf("dry run output: %s", dry.stdout)
	}
	if _, err := clientsetFor(t, cfg).CoreV1().Namespaces().Get(ctx, mapped, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the dry run created namespace %s: %v", mapped, err)
	}
	mustRun(t, "restore", "-f", s.path, "--backup", id, "--namespace-mapping", a+"="+mapped, "--include-namespaces", a)
	list, err := clientsetFor(t, cfg).CoreV1().Pods(mapped).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 4 {
		t.Fatalf("pods restored into %s: %d, %v", mapped, len(list.Items), err)
	}
	for _, sec := range s.secrets {
		if strings.Contains(dry.stdout+dry.stderr, sec) {
			t.Fatal("restore output holds a secret")
		}
	}
	checkPartialRestore(t, cfg, s, id, a, mapped)
}

// checkPartialRestore: a pod the server will not update (its containers
// changed) fails alone; restore exits 3 and says PartiallyFailed, naming it.
func checkPartialRestore(t *testing.T, cfg *rest.Config, s *setup, id, a, mapped string) {
	t.Helper()
	ctx := context.Background()
	pods := clientsetFor(t, cfg).CoreV1().Pods(mapped)
	if err := pods.Delete(ctx, "zz", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	changed := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: mapped, Name: "zz"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "other", Image: "busybox"}}}}
	if _, err := pods.Create(ctx, changed, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := runner(t, nil, "restore", "-f", s.path, "--backup", id, "--namespace-mapping", a+"="+mapped, "--include-namespaces", a,
		"--existing-resources", "update")
	if r.code != 3 || !strings.Contains(r.stdout, "PartiallyFailed") || !strings.Contains(r.stdout, "1 failed") ||
		!strings.Contains(r.stderr, "pods "+mapped+"/zz") {
		t.Fatalf("restore over a changed pod: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// kubernetesSetup writes a config whose one target backs up pods of two
// namespaces through a kubeconfig Secret, into encrypted filesystem storage.
func kubernetesSetup(t *testing.T, cfg *rest.Config, a, b, ordered string) *setup {
	t.Helper()
	dir := t.TempDir()
	s := &setup{path: filepath.Join(dir, "coffer.yaml"), storageDir: filepath.Join(dir, "storage"), identity: keyPair(t)}
	if err := os.Mkdir(s.storageDir, 0o700); err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["e"] = &clientcmdapi.Context{Cluster: "e", AuthInfo: "u"}
	kc.CurrentContext = "e"
	kubeconfig, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	s.secrets = append(s.secrets, s.identity.String(), string(cfg.KeyData))
	yaml := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: store}
spec:
  filesystem: {path: %q}
  encryption: {recipients: [%q], identitySecretRef: {name: age, key: identity}}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: cluster, namespace: e2e}
spec:
  storageRef: {name: store}
  targets:
  - name: resources
    kubernetes:
      includedNamespaces: [%s, %s]
      includedResources: [pods]
      orderedResources: {pods: %q}
      kubeconfigSecretRef: {name: kube, key: config}
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
`, s.storageDir, s.identity.Recipient().String(), a, b, ordered, base64.StdEncoding.EncodeToString(kubeconfig), s.identity.String())
	if err := os.WriteFile(s.path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// storedObject is the storage key of a target's object in a backup.
func storedObject(t *testing.T, s *setup, id, target string) string {
	t.Helper()
	var m struct {
		Targets []struct{ Name, Object string } `json:"targets"`
	}
	data, err := os.ReadFile(filepath.Join(s.storageDir, "e2e", "cluster", id, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, tg := range m.Targets {
		if tg.Name == target {
			return tg.Object
		}
	}
	t.Fatalf("backup %s has no target %s", id, target)
	return ""
}

func clientsetFor(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
