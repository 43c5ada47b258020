package controller_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestRenderAndCleanup: a definition gets its Secret, StatefulSet and
// Service; hand edits are reverted; deleting the definition removes them.
func TestRenderAndCleanup(t *testing.T) {
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, true)
	d := definition(t, e, ns, "shop", st)
	testutil.Eventually(t, 60*time.Second, "runner objects", func() bool { a, b, c := runnerObjectsExist(t, e, ns, "shop"); return a && b && c })
	sts, _ := statefulSet(t, e, ns, "shop")
	spec := sts.Spec.Template.Spec
	if *sts.Spec.Replicas != 1 || hashOf(sts) == "" || spec.ImagePullSecrets[0].Name != "regcred" || spec.Containers[0].Image != "coffer-runner:test" {
		t.Fatalf("rendered StatefulSet: replicas %d hash %q pull %v image %s", *sts.Spec.Replicas, hashOf(sts), spec.ImagePullSecrets, spec.Containers[0].Image)
	}
	// The runner (uid 65532) must be able to read its config, and nobody else.
	if sc := spec.SecurityContext; sc == nil || sc.FSGroup == nil || *sc.FSGroup != 65532 || *sc.RunAsUser != 65532 {
		t.Fatalf("pod security context %+v: the runner could not read its config Secret", spec.SecurityContext)
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil && *v.Secret.DefaultMode != 0o440 {
			t.Fatalf("config Secret mounted with mode %o, want 0440", *v.Secret.DefaultMode)
		}
	}
	// envtest has no kubelet: until the StatefulSet reports a ready
	// runner, the definition is not Ready, and says so.
	testutil.Eventually(t, 60*time.Second, "Ready=False RunnerNotReady", func() bool {
		c := readyCondition(t, e, ns, "shop")
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonRunnerNotReady && strings.Contains(c.Message, "does not exist yet")
	})
	sts.Status.Replicas, sts.Status.ReadyReplicas, sts.Status.AvailableReplicas = 1, 1, 1
	if err := e.Client.Status().Update(context.Background(), sts); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "Ready condition", func() bool {
		c := readyCondition(t, e, ns, "shop")
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == d.Generation
	})
	if err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(sts), sts); err != nil {
		t.Fatal(err)
	}

	// Hand edits are reverted.
	sts.Spec.Replicas = ptr.To[int32](3)
	if err := e.Client.Update(context.Background(), sts); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "replicas reverted to 1", func() bool { s, ok := statefulSet(t, e, ns, "shop"); return ok && *s.Spec.Replicas == 1 })
	sec := &corev1.Secret{}
	e.Client.Get(context.Background(), runnerKey(ns, "shop"), sec)
	sec.Data["config.yaml"] = []byte("tampered")
	if err := e.Client.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "config Secret reverted", func() bool {
		s := &corev1.Secret{}
		e.Client.Get(context.Background(), runnerKey(ns, "shop"), s)
		return strings.Contains(string(s.Data["config.yaml"]), "BackupDefinition")
	})

	if err := e.Client.Delete(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "runner objects removed", func() bool { a, b, c := runnerObjectsExist(t, e, ns, "shop"); return !a && !b && !c })
}

// TestStorageNotAllowed: no runner for a namespace the storage does not
// admit, and a condition that says why; labelling the namespace fixes it.
func TestStorageNotAllowed(t *testing.T) {
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, false)
	definition(t, e, ns, "shop", st)
	testutil.Eventually(t, 60*time.Second, "StorageNotAllowed condition", func() bool {
		c := readyCondition(t, e, ns, "shop")
		return c != nil && c.Reason == controller.ReasonStorageNotAllowed && strings.Contains(c.Message, ns)
	})
	if a, b, c := runnerObjectsExist(t, e, ns, "shop"); a || b || c {
		t.Fatal("a runner was made for a namespace the storage does not admit")
	}
	testutil.Eventually(t, 60*time.Second, "a Warning Event saying why", func() bool {
		var evs eventsv1.EventList
		e.Client.List(context.Background(), &evs, client.InNamespace(ns))
		for _, ev := range evs.Items {
			if ev.Regarding.Name == "shop" && ev.Reason == controller.ReasonStorageNotAllowed && ev.Type == corev1.EventTypeWarning {
				return true
			}
		}
		return false
	})
	n := &corev1.Namespace{}
	e.Client.Get(context.Background(), client.ObjectKey{Name: ns}, n)
	n.Labels["backups"] = "allowed"
	if err := e.Client.Update(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "runner after labelling the namespace", func() bool { a, _, _ := runnerObjectsExist(t, e, ns, "shop"); return a })
}

// TestSecretChangeRollsRunner: editing a referenced Secret changes the
// runner's config hash; editing an unrelated Secret does not.
func TestSecretChangeRollsRunner(t *testing.T) {
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, true)
	definition(t, e, ns, "shop", st)
	var h0 string
	testutil.Eventually(t, 60*time.Second, "runner", func() bool { s, ok := statefulSet(t, e, ns, "shop"); h0 = hashOrEmpty(s, ok); return h0 != "" })
	mustCreate(t, e, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unrelated"}, StringData: map[string]string{"k": "v"}})
	un := &corev1.Secret{}
	e.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "unrelated"}, un)
	un.StringData = map[string]string{"k": "v2"}
	e.Client.Update(context.Background(), un)
	pg := &corev1.Secret{}
	e.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pg"}, pg)
	// Give the controller time to (wrongly) react to the unrelated edit.
	testutil.Eventually(t, 60*time.Second, "settle", func() bool { s, ok := statefulSet(t, e, ns, "shop"); return hashOrEmpty(s, ok) == h0 })
	if s, ok := statefulSet(t, e, ns, "shop"); hashOrEmpty(s, ok) != h0 {
		t.Fatal("an unrelated Secret changed the config hash")
	}
	pg.StringData = map[string]string{"password": "pw-2"}
	if err := e.Client.Update(context.Background(), pg); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "hash change after the password rotation", func() bool {
		s, ok := statefulSet(t, e, ns, "shop")
		return hashOrEmpty(s, ok) != h0
	})
}

func hashOrEmpty(s *appsv1.StatefulSet, ok bool) string {
	if !ok {
		return ""
	}
	return hashOf(s)
}

// TestManyDefinitions: 200 definitions across 20 namespaces reconcile to
// their runner objects, and deleting them cleans up fully.
func TestManyDefinitions(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	var nss []string
	for range 20 {
		nss = append(nss, appNamespace(t, e, true))
	}
	var defs []*v1alpha1.BackupDefinition
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ns := range nss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				d := definition(t, e, ns, fmt.Sprintf("def-%d", i), st)
				mu.Lock()
				defs = append(defs, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	testutil.Eventually(t, 60*time.Second, "200 runners", func() bool { return countRendered(t, e, nss, &appsv1.StatefulSetList{}) == 200 })
	for _, d := range defs {
		if err := e.Client.Delete(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 60*time.Second, "all runner objects removed", func() bool {
		return countRendered(t, e, nss, &appsv1.StatefulSetList{}) == 0 && countRendered(t, e, nss, &corev1.ServiceList{}) == 0 &&
			countRendered(t, e, nss, &corev1.SecretList{}) == 0
	})
}

// countRendered counts rendered objects of definitions in the namespaces.
func countRendered(t *testing.T, e *testutil.Envtest, nss []string, list client.ObjectList) int {
	t.Helper()
	if err := e.Client.List(context.Background(), list, client.InNamespace(operatorNS)); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, ns := range nss {
		want[ns] = true
	}
	n := 0
	items, _ := meta.ExtractList(list)
	for _, it := range items {
		if o, ok := it.(client.Object); ok && want[o.GetLabels()[controller.LabelDefinitionNamespace]] {
			n++
		}
	}
	return n
}

// TestLocalPathRefusedForTenants: a tenant definition whose target would
// read the runner pod's own filesystem (where its config holds the storage
// keys and the age identity) gets no runner, and a condition that says why;
// switching the target to a PersistentVolumeClaim renders it.
func TestLocalPathRefusedForTenants(t *testing.T) {
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, true)
	d := &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "steal"},
		Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: st},
			Targets: []v1alpha1.Target{{Name: "conf", Filesystem: &v1alpha1.FilesystemTarget{Path: "/etc/../etc/coffer/"}}}}}
	mustCreate(t, e, d)
	testutil.Eventually(t, 60*time.Second, "LocalPathNotAllowed condition", func() bool {
		c := readyCondition(t, e, ns, "steal")
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonPathNotAllowed &&
			strings.Contains(c.Message, "spec.targets[0] (conf)")
	})
	if a, b, c := runnerObjectsExist(t, e, ns, "steal"); a || b || c {
		t.Fatal("a runner was rendered for a tenant's local-path target")
	}
	e.Client.Get(context.Background(), client.ObjectKeyFromObject(d), d)
	d.Spec.Targets[0].Filesystem.PersistentVolumeClaim = "data"
	if err := e.Client.Update(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "runner once the target names a claim", func() bool { a, _, _ := runnerObjectsExist(t, e, ns, "steal"); return a })
}
