package kubernetes

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/testutil"
)

func TestMain(m *testing.M) { testutil.EnvtestMain(m) }

// kubeconfigFor writes cfg as a kubeconfig with inline credentials, the
// way a standalone user puts one in a Secret.
func kubeconfigFor(t testing.TB, cfg *rest.Config) []byte {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// target is a kubernetes target reaching env through a kubeconfig Secret.
func target(t testing.TB, env *testutil.Envtest, spec v1alpha1.KubernetesTarget) engine.Target {
	spec.KubeconfigSecretRef = &v1alpha1.SecretKeySelector{Name: "kube", Key: "config"}
	return engine.Target{Spec: v1alpha1.Target{Name: "cluster", Kubernetes: &spec}, Namespace: "coffer-test",
		Secrets: engine.Secrets{"kube": {"config": kubeconfigFor(t, env.Config)}}}
}

func mustCreate(t testing.TB, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := c.Create(context.Background(), obj); err != nil {
			t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.coffer.dev}
spec:
  group: example.coffer.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              colour: {type: string}
`

var widgets = schema.GroupVersionResource{Group: "example.coffer.dev", Version: "v1", Resource: "widgets"}

// ensureCRD installs the Widget CRD (once per API server) and waits until
// it is served.
func ensureCRD(t testing.TB, env *testutil.Envtest) {
	t.Helper()
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(widgetCRD), &crd.Object); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := dyn.Resource(widgets).Namespace("default").List(context.Background(), metav1.ListOptions{Limit: 1})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CRD widgets not served: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// appNamespace fills a fresh namespace with one of everything an
// application has, and returns its name.
func appNamespace(t testing.TB, env *testutil.Envtest) string {
	t.Helper()
	ensureCRD(t, env)
	ns := env.CreateNamespace(t)
	c := env.Client
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec()}}}
	mustCreate(t, c,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}, Data: map[string]string{"mode": "prod", "text": "Grüße ✓ 🎉 \"quoted\"\n"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}, Data: map[string][]byte{"password": {0, 1, 2, 255}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "reader"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "app", Namespace: ns}}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-headless"},
			Spec: corev1.ServiceSpec{ClusterIP: "None", Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}},
		dep,
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "migrate"},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "m", Image: "busybox"}}}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "debug"}, Spec: podSpec()},
	)
	// What the Deployment's controller would have made: a ReplicaSet it
	// owns, and a pod the ReplicaSet owns (left out by default).
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1", Labels: labels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: dep.UID, Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec()}}}
	mustCreate(t, c, rs)
	mustCreate(t, c, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1-abcde", Labels: labels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: rs.UID, Controller: ptr.To(true)}}},
		Spec: podSpec()})
	dyn := dynamic.NewForConfigOrDie(env.Config)
	for i, colour := range []string{"red", "blue"} {
		w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.coffer.dev/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w" + colour}, "spec": map[string]any{"size": int64(i + 1), "colour": colour}}}
		if _, err := dyn.Resource(widgets).Namespace(ns).Create(context.Background(), w, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27",
		Env: []corev1.EnvVar{{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "mode"}}}}}}}
}

// backupBytes runs Backup into memory.
func backupBytes(t testing.TB, e *Engine, tg engine.Target) []byte {
	t.Helper()
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := e.Backup(ctx, tg, &buf); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return buf.Bytes()
}

// tarEntries lists a tar's entry names in order, and decodes its index.
func tarEntries(t testing.TB, data []byte) ([]string, Index) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var names []string
	var idx Index
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, idx
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.Name == IndexName {
			if err := json.NewDecoder(tr).Decode(&idx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func clientset(t testing.TB, env *testutil.Envtest) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
