package kubernetes

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// TestCRDRestoredFirst: a custom resource's CRD is backed up with it,
// although the filters name only the custom resource; after both are
// deleted, the restore creates the CRD, waits until it is Established,
// and creates the objects.
func TestCRDRestoredFirst(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := env.CreateNamespace(t)
	group := ns + ".crd.coffer.dev"
	gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: "gadgets"}
	crd := &unstructured.Unstructured{}
	gadgets := strings.NewReplacer("widgets.example.coffer.dev", "gadgets."+group, "example.coffer.dev", group,
		"widget", "gadget", "Widget", "Gadget").Replace(widgetCRD)
	if err := yaml.Unmarshal([]byte(gadgets), &crd.Object); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the gadgets CRD to be served", func() bool {
		_, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		return err == nil
	})
	for _, name := range []string{"g1", "g2"} {
		g := &unstructured.Unstructured{Object: map[string]any{"apiVersion": group + "/v1", "kind": "Gadget",
			"metadata": map[string]any{"name": name}, "spec": map[string]any{"size": int64(7)}}}
		if _, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, g, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e := &Engine{}
	tg := target(t, env, v1alpha1.KubernetesTarget{IncludedNamespaces: []string{ns}, IncludedResources: []string{"gadgets." + group},
		IncludeClusterResources: true})
	data := backupBytes(t, e, tg)
	names, _ := tarEntries(t, data)
	if len(names) != 4 || names[0] != "resources/customresourcedefinitions.apiextensions.k8s.io/cluster/gadgets."+group+".json" {
		t.Fatalf("tar entries %v: want the CRD first, then two gadgets and the index", names)
	}

	if err := dyn.Resource(crdGVR).Delete(ctx, "gadgets."+group, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the gadgets CRD to be gone", func() bool {
		_, err := dyn.Resource(crdGVR).Get(ctx, "gadgets."+group, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if err := restore(t, e, tg, data, nil); err != nil {
		t.Fatalf("restore: %v", err)
	}
	list, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("after restore: %v gadgets, %v", len(list.Items), err)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
