package kubernetes

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestClaimsBringTheirVolumes: with cluster resources included, a claim
// brings its bound volume even when the filters leave persistentvolumes
// out or the label selector does not select it, written before the claim;
// an unclaimed volume and another namespace's claimed volume stay out;
// without includeClusterResources no volume is backed up.
func TestClaimsBringTheirVolumes(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns, other := env.CreateNamespace(t), env.CreateNamespace(t)
	pv := func(name, claimNS string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/" + name}},
				ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: claimNS, Name: "data"}}}
	}
	pvc := func(namespace, volume string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "data", Labels: map[string]string{"backup": "yes"}},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, VolumeName: volume,
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	}
	mine, theirs, loose := "pv-"+ns, "pv-"+other, "pv-loose-"+ns
	mustCreate(t, env.Client, pv(mine, ns), pv(theirs, other), pv(loose, "nobody"), pvc(ns, mine), pvc(other, theirs))
	t.Cleanup(func() {
		for _, n := range []string{mine, theirs, loose} {
			_ = env.Client.Delete(context.Background(), &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: n}})
		}
	})
	volume := func(n string) string { return "resources/persistentvolumes/cluster/" + n + ".json" }
	claim := "resources/persistentvolumeclaims/namespaces/" + ns + "/data.json"

	for name, spec := range map[string]v1alpha1.KubernetesTarget{
		"filtered out": {IncludedNamespaces: []string{ns}, IncludedResources: []string{"persistentvolumeclaims"}, IncludeClusterResources: true},
		"not selected": {IncludedNamespaces: []string{ns}, IncludedResources: []string{"persistentvolumeclaims", "persistentvolumes"},
			IncludeClusterResources: true, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"backup": "yes"}}},
	} {
		names, idx := tarEntries(t, backupBytes(t, &Engine{}, target(t, env, spec)))
		at, claimAt := slices.Index(names, volume(mine)), slices.Index(names, claim)
		if at < 0 || claimAt < 0 || at > claimAt {
			t.Errorf("%s: the claim (%d) and its volume (%d) in %v", name, claimAt, at, names)
		}
		if slices.Contains(names, volume(theirs)) || slices.Contains(names, volume(loose)) {
			t.Errorf("%s: a volume no backed-up claim uses: %v", name, names)
		}
		if !slices.ContainsFunc(idx.Resources, func(r IndexResource) bool { return r.Resource == "persistentvolumes" && r.Objects == 1 }) ||
			hasSkip(idx, "persistentvolumes", "", "", "") {
			t.Errorf("%s: index resources %+v", name, idx.Resources)
		}
	}

	// Restored, the claim keeps its volume: the volume came with it.
	spec := v1alpha1.KubernetesTarget{IncludedNamespaces: []string{ns}, IncludedResources: []string{"persistentvolumeclaims"}, IncludeClusterResources: true}
	data := backupBytes(t, &Engine{}, target(t, env, spec))
	ctx := context.Background()
	if err := env.Client.Delete(ctx, pvc(ns, mine)); err != nil {
		t.Fatal(err)
	}
	gone := &corev1.PersistentVolumeClaim{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data"}, gone); err == nil { // held by pvc-protection
		gone.Finalizers = nil
		if err := env.Client.Update(ctx, gone); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data"}, gone); !apierrors.IsNotFound(err) {
		t.Fatalf("the claim is still there before the restore: %v", err)
	}
	if err := restore(t, &Engine{}, target(t, env, spec), data, nil); err != nil {
		t.Fatal(err)
	}
	got := &corev1.PersistentVolumeClaim{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "data"}, got); err != nil || got.Spec.VolumeName != mine {
		t.Fatalf("restored claim: volumeName %q, %v", got.Spec.VolumeName, err)
	}

	spec = v1alpha1.KubernetesTarget{IncludedNamespaces: []string{ns}, IncludedResources: []string{"persistentvolumeclaims"}}
	data = backupBytes(t, &Engine{}, target(t, env, spec))
	if names, _ := tarEntries(t, data); slices.Contains(names, volume(mine)) || !slices.Contains(names, claim) {
		t.Fatalf("without includeClusterResources: %v", names)
	}
}
