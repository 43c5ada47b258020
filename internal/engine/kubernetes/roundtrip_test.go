package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/testutil"
)

func restore(t testing.TB, e *Engine, tg engine.Target, data []byte, o *v1alpha1.KubernetesRestoreOptions) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return e.Restore(ctx, tg, bytes.NewReader(data), engine.RestoreOptions{Kubernetes: o})
}

// TestRoundTrip backs up a namespace with cluster resources, restores it
// into a mapped namespace beside the original, then deletes the original
// and restores it in place: both equal the original after normalisation.
func TestRoundTrip(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := appNamespace(t, env)
	want := snapshot(t, env, ns)
	delete(want, "pods/web-1-abcde") // owned by a ReplicaSet: not backed up
	e := &Engine{}
	tg := target(t, env, v1alpha1.KubernetesTarget{IncludedNamespaces: []string{ns}, IncludeClusterResources: true})
	data := backupBytes(t, e, tg)

	names, idx := tarEntries(t, data)
	for _, p := range []string{"resources/customresourcedefinitions.apiextensions.k8s.io/cluster/widgets.example.coffer.dev.json",
		"resources/namespaces/cluster/" + ns + ".json", "resources/secrets/namespaces/" + ns + "/creds.json",
		"resources/deployments.apps/namespaces/" + ns + "/web.json", "resources/widgets.example.coffer.dev/namespaces/" + ns + "/wred.json"} {
		if !contains(names, p) {
			t.Errorf("the tar has no %s", p)
		}
	}
	if contains(names, "resources/pods/namespaces/"+ns+"/web-1-abcde.json") {
		t.Error("a pod owned by a ReplicaSet was backed up")
	}
	if !hasSkip(idx, "pods", ns, "web-1-abcde", "owned by ReplicaSet web-1") {
		t.Errorf("the index does not say why the owned pod was skipped: %+v", idx.Skipped)
	}
	if !hasSkip(idx, "events", "", "", "left out by default") {
		t.Errorf("the index does not list events as left out: %+v", idx.Skipped)
	}

	mapped := "restored-" + ns
	if err := restore(t, e, tg, data, &v1alpha1.KubernetesRestoreOptions{NamespaceMapping: map[string]string{ns: mapped}}); err != nil {
		t.Fatalf("restore into %s: %v", mapped, err)
	}
	compareSnapshots(t, want, snapshot(t, env, mapped))
	checkOwner(t, env, mapped)

	deleteNamespace(t, env, ns)
	if err := restore(t, e, tg, data, nil); err != nil {
		t.Fatalf("restore into %s: %v", ns, err)
	}
	compareSnapshots(t, want, snapshot(t, env, ns))
	checkOwner(t, env, ns)
}

// checkOwner: the restored ReplicaSet is owned by the restored Deployment.
func checkOwner(t testing.TB, env *testutil.Envtest, ns string) {
	t.Helper()
	cs := clientset(t, env)
	dep, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := cs.AppsV1().ReplicaSets(ns).Get(context.Background(), "web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.OwnerReferences) != 1 || rs.OwnerReferences[0].UID != dep.UID {
		t.Errorf("ReplicaSet owners %+v, want the Deployment's uid %s", rs.OwnerReferences, dep.UID)
	}
}

func hasSkip(idx Index, resource, ns, name, reason string) bool {
	for _, s := range idx.Skipped {
		if s.Resource == resource && s.Namespace == ns && s.Name == name && strings.Contains(s.Reason, reason) {
			return true
		}
	}
	return false
}

// TestExistingResources: skip leaves a changed object alone, update puts
// the backed-up one back; a dry run changes nothing and says what would.
func TestExistingResources(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := appNamespace(t, env)
	e := &Engine{}
	tg := target(t, env, v1alpha1.KubernetesTarget{IncludedNamespaces: []string{ns}, IncludedResources: []string{"configmaps"}})
	data := backupBytes(t, e, tg)
	cs := clientset(t, env)
	ctx := context.Background()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["mode"] = "changed"
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	mode := func() string {
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data["mode"]
	}
	for _, o := range []*v1alpha1.KubernetesRestoreOptions{nil, {ExistingResources: "update", DryRun: true}} {
		if err := restore(t, e, tg, data, o); err != nil {
			t.Fatalf("restore %+v: %v", o, err)
		}
		if got := mode(); got != "changed" {
			t.Fatalf("restore %+v changed the existing ConfigMap: mode %q", o, got)
		}
	}
	if err := restore(t, e, tg, data, &v1alpha1.KubernetesRestoreOptions{ExistingResources: "update"}); err != nil {
		t.Fatal(err)
	}
	if got := mode(); got != "prod" {
		t.Fatalf("existingResources update: mode %q, want prod", got)
	}
}

// TestDryRunCreatesNothing: a dry run into a new namespace creates
// neither the namespace nor its objects.
func TestDryRunCreatesNothing(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := appNamespace(t, env)
	e := &Engine{}
	tg := target(t, env, v1alpha1.KubernetesTarget{IncludedNamespaces: []string{ns}})
	data := backupBytes(t, e, tg)
	mapped := "dry-" + ns
	if err := restore(t, e, tg, data, &v1alpha1.KubernetesRestoreOptions{NamespaceMapping: map[string]string{ns: mapped}, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := clientset(t, env).CoreV1().Namespaces().Get(context.Background(), mapped, metav1.GetOptions{}); err == nil {
		t.Fatalf("a dry run created namespace %s", mapped)
	}
}

// TestPartiallyFailed: objects the server refuses fail alone; the restore
// reports them, wrapped as ErrPartiallyFailed, and restores the rest.
func TestPartiallyFailed(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := env.CreateNamespace(t)
	e := &Engine{}
	tg := target(t, env, v1alpha1.KubernetesTarget{})
	var buf bytes.Buffer
	tw := newTestTar(&buf)
	tw.add(t, "resources/configmaps/namespaces/"+ns+"/good.json",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"good","namespace":"`+ns+`"},"data":{"a":"b"}}`)
	tw.add(t, "resources/configmaps/namespaces/"+ns+"/Bad_Name.json",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name","namespace":"`+ns+`"}}`)
	tw.add(t, "resources/widgets.nowhere.example/namespaces/"+ns+"/w.json",
		`{"apiVersion":"nowhere.example/v1","kind":"Widget","metadata":{"name":"w","namespace":"`+ns+`"}}`)
	tw.close(t)
	err := restore(t, e, tg, buf.Bytes(), nil)
	var pe *PartialError
	if !errors.Is(err, engine.ErrPartiallyFailed) || !errors.As(err, &pe) {
		t.Fatalf("restore: %v, want a PartialError", err)
	}
	if pe.Report.Created != 1 || len(pe.Report.Failures) != 2 {
		t.Fatalf("report %+v, want 1 created and 2 failed", pe.Report)
	}
	for _, want := range []string{"configmaps " + ns + "/Bad_Name: failed", "widgets.nowhere.example " + ns + "/w: failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := clientset(t, env).CoreV1().ConfigMaps(ns).Get(context.Background(), "good", metav1.GetOptions{}); err != nil {
		t.Errorf("the good ConfigMap was not restored: %v", err)
	}
}
