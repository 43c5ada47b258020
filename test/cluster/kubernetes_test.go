//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// A tenant's kubernetes target on a real node: a namespace's Deployment,
// Service, ConfigMap and Secret are backed up through the runner's
// read-only identity, deleted, and brought back by a Restore object (the
// runner granted write rights for the Restore's length only); the
// Deployment's pod comes up again on the node, and the grant is gone.
func TestKubernetesResourcesRoundTrip(t *testing.T) {
	ns := appNamespace(t, "res-"+randomSuffix(), map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	st := newStorage(t)
	objects := applicationObjects(ns)
	for _, o := range objects {
		create(t, o)
	}
	deploymentAvailable(t, ns, "web")

	create(t, &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "resources"}, Spec: v1alpha1.BackupDefinitionSpec{
		StorageRef: v1alpha1.LocalObjectReference{Name: st.name},
		Schedule:   "0 0 1 1 *",
		Targets: []v1alpha1.Target{{Name: "objects", Kubernetes: &v1alpha1.KubernetesTarget{
			IncludedResources: []string{"deployments.apps", "services", "configmaps", "secrets"},
			LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		}}},
	}})
	runnerReady(t, ns, "resources", 5*time.Minute)
	b := backupNow(t, ns, "resources", "before", 5*time.Minute)
	if b.Status.Phase != v1alpha1.BackupCompleted {
		t.Fatalf("Backup %s: %s", b.Status.Phase, b.Status.Error)
	}

	ctx := context.Background()
	for _, o := range objects {
		if err := suite.client.Delete(ctx, o, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "the application's objects gone", 2*time.Minute, func() bool {
		for _, o := range objects {
			if !isNotFound(get(o.DeepCopyObject().(client.Object), ns, o.GetName())) {
				return false
			}
		}
		return true
	})

	create(t, &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "after"}, Spec: v1alpha1.RestoreSpec{
		BackupRef: &v1alpha1.LocalObjectReference{Name: "before"}, Target: "objects"}})
	r := &v1alpha1.Restore{}
	poll(t, "Restore "+ns+"/after to end", 5*time.Minute, func() bool {
		return get(r, ns, "after") == nil && r.Status.Phase.Final()
	}, func() string { return fmt.Sprintf("status: %+v", r.Status) })
	if r.Status.Phase != v1alpha1.RestoreCompleted {
		t.Fatalf("Restore %s: %s, failed items %+v", r.Status.Phase, r.Status.Error, r.Status.FailedItems)
	}

	cm, sec := &corev1.ConfigMap{}, &corev1.Secret{}
	if err := get(cm, ns, "web-settings"); err != nil || !maps.Equal(cm.Data, map[string]string{"greeting": "hello"}) {
		t.Errorf("restored ConfigMap: %v %v", err, cm.Data)
	}
	if err := get(sec, ns, "web-credentials"); err != nil || string(sec.Data["token"]) != "s3cr3t" {
		t.Errorf("restored Secret: %v", err)
	}
	svc := &corev1.Service{}
	if err := get(svc, ns, "web"); err != nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 {
		t.Errorf("restored Service: %v %+v", err, svc.Spec.Ports)
	}
	deploymentAvailable(t, ns, "web") // the workload comes up on the node again

	// The write grant lasted the Restore only.
	poll(t, "the restore grant revoked", time.Minute, func() bool {
		var rbs rbacv1.RoleBindingList
		if err := suite.client.List(ctx, &rbs, client.InNamespace(ns), client.HasLabels{"coffer.dev/restore-grant"}); err != nil {
			return false
		}
		return len(rbs.Items) == 0
	})
}

// applicationObjects is a small application: a Deployment of the pause
// image (admitted under restricted), its Service, ConfigMap and Secret.
func applicationObjects(ns string) []client.Object {
	labels := map[string]string{"app": "web"}
	om := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}
	}
	pod := corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "web", Image: "coffer.local/pause:1", ImagePullPolicy: corev1.PullNever,
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-settings"}}}},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
	}
	return []client.Object{
		&corev1.ConfigMap{ObjectMeta: om("web-settings"), Data: map[string]string{"greeting": "hello"}},
		&corev1.Secret{ObjectMeta: om("web-credentials"), StringData: map[string]string{"token": "s3cr3t"}},
		&corev1.Service{ObjectMeta: om("web"), Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 8080}}}},
		&appsv1.Deployment{ObjectMeta: om("web"), Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod}}},
	}
}

// deploymentAvailable waits until the Deployment's pod runs and is ready.
func deploymentAvailable(t *testing.T, ns, name string) {
	t.Helper()
	d := &appsv1.Deployment{}
	poll(t, "Deployment "+ns+"/"+name+" available", 3*time.Minute, func() bool {
		return get(d, ns, name) == nil && d.Status.ObservedGeneration >= d.Generation && d.Status.AvailableReplicas == 1
	}, func() string { return fmt.Sprintf("status: %+v", d.Status) })
}
