package kubernetes

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// appResources are the resources appNamespace fills.
var appResources = []schema.GroupVersionResource{
	{Version: "v1", Resource: "configmaps"},
	{Version: "v1", Resource: "secrets"},
	{Version: "v1", Resource: "serviceaccounts"},
	{Version: "v1", Resource: "persistentvolumeclaims"},
	{Version: "v1", Resource: "services"},
	{Version: "v1", Resource: "pods"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "replicasets"},
	{Group: "batch", Version: "v1", Resource: "jobs"},
	widgets,
}

// snapshot is a namespace's objects after normalisation: what the server
// sets, the namespace's name and the uids are gone, so a faithful
// restore elsewhere compares equal. Keys are "resource/name".
func snapshot(t testing.TB, env *testutil.Envtest, ns string) map[string]string {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	out := map[string]string{}
	for _, gvr := range appResources {
		list, err := dyn.Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s in %s: %v", gvr.Resource, ns, err)
		}
		for _, item := range list.Items {
			out[gvr.Resource+"/"+item.GetName()] = normalise(t, item.Object, ns)
		}
	}
	nsObj, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(context.Background(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	labels := nsObj.GetLabels()
	delete(labels, "kubernetes.io/metadata.name")
	out["namespace/labels"] = normalise(t, map[string]any{"labels": labels}, ns)
	return out
}

func normalise(t testing.TB, obj map[string]any, ns string) string {
	t.Helper()
	md, _ := obj["metadata"].(map[string]any)
	for _, k := range []string{"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "namespace"} {
		delete(md, k)
	}
	for _, ref := range list(md, "ownerReferences") {
		delete(ref.(map[string]any), "uid")
	}
	delete(obj, "status")
	s := spec(obj)
	delete(s, "clusterIP")
	delete(s, "clusterIPs")
	if obj["kind"] == "Job" {
		delete(s, "selector")
	}
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, uidLabel := range []string{"batch.kubernetes.io/controller-uid", "controller-uid"} {
		text = dropLabel(text, uidLabel)
	}
	return strings.ReplaceAll(text, `"`+ns+`"`, `"NAMESPACE"`)
}

// dropLabel removes "label":"<uid>" pairs from JSON text.
func dropLabel(text, label string) string {
	for {
		i := strings.Index(text, `"`+label+`":"`)
		if i < 0 {
			return text
		}
		j := strings.Index(text[i+len(label)+4:], `"`)
		end := i + len(label) + 4 + j + 1
		if end < len(text) && text[end] == ',' {
			end++
		} else if i > 0 && text[i-1] == ',' {
			i--
		}
		text = text[:i] + text[end:]
	}
}

// compareSnapshots fails the test on every difference.
func compareSnapshots(t testing.TB, want, got map[string]string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if want[k] != got[k] {
			t.Errorf("%s differs:\nwant %s\ngot  %s", k, want[k], got[k])
		}
	}
}

// deleteNamespace does what the namespace controller would (envtest has
// none): it deletes the namespace's objects, then the namespace, and
// finalizes it, so the name is free again.
func deleteNamespace(t testing.TB, env *testutil.Envtest, ns string) {
	t.Helper()
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	for _, gvr := range appResources {
		list, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range list.Items {
			unfinalize(t, dyn.Resource(gvr).Namespace(ns), &item)
		}
	}
	cs := clientset(t, env)
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Spec.Finalizers = nil
	if _, err := cs.CoreV1().Namespaces().Finalize(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s still there: %v", ns, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unfinalize removes an object's finalizers (pvc-protection has no
// controller to lift it here) and deletes it.
func unfinalize(t testing.TB, ri dynamic.ResourceInterface, item *unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	if len(item.GetFinalizers()) > 0 {
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := ri.Patch(ctx, item.GetName(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Background: with the default, a Job gets the orphan finalizer,
	// which only the garbage collector would lift.
	background := metav1.DeletePropagationBackground
	if err := ri.Delete(ctx, item.GetName(), metav1.DeleteOptions{PropagationPolicy: &background}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}
