package controller_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestWorkloadIdentityRendered: a storage with a workloadIdentity and no
// credentials Secret gives each runner a ServiceAccount of its own carrying
// the cloud's annotations, and (Azure) its pod the webhook's label; the
// API token stays unmounted for a database runner; the StatefulSet's
// selector does not take the label. Removing the identity removes the
// ServiceAccount and the pod's reference to it.
func TestWorkloadIdentityRendered(t *testing.T) {
	e := cluster(t)
	ctx := context.Background()
	st := uniq("cloud-")
	wi := &v1alpha1.WorkloadIdentity{AWSRoleARN: "arn:aws:iam::123456789012:role/coffer-backups",
		GCPServiceAccount: "coffer@proj.iam.gserviceaccount.com", AzureClientID: "0b5c7b4e-7d0c-4c1f-9d3b-1f2e3d4c5b6a"}
	storageObj := &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: st},
		Spec: v1alpha1.BackupStorageSpec{S3: &v1alpha1.S3Storage{Bucket: "b", Region: "eu-west-1"}, WorkloadIdentity: wi,
			AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"backups": "allowed"}}}}
	mustCreate(t, e, storageObj)
	ns := appNamespace(t, e, true)
	definition(t, e, ns, "db", st)
	sa := &corev1.ServiceAccount{}
	testutil.Eventually(t, 60*time.Second, "runner ServiceAccount and StatefulSet", func() bool {
		_, ok := statefulSet(t, e, ns, "db")
		return ok && e.Client.Get(ctx, runnerKey(ns, "db"), sa) == nil
	})
	want := map[string]string{controller.AnnotationAWSRoleARN: wi.AWSRoleARN, controller.AnnotationGCPServiceAccount: wi.GCPServiceAccount,
		controller.AnnotationAzureClientID: wi.AzureClientID}
	if !maps.Equal(sa.Annotations, want) {
		t.Errorf("ServiceAccount annotations %v, want %v", sa.Annotations, want)
	}
	sts, _ := statefulSet(t, e, ns, "db")
	pod := sts.Spec.Template
	if pod.Spec.ServiceAccountName != controller.RunnerName(ns, "db") || pod.Labels[controller.LabelAzureWorkloadIdentity] != "true" {
		t.Errorf("runner pod: serviceAccountName %q, labels %v", pod.Spec.ServiceAccountName, pod.Labels)
	}
	if a := pod.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Errorf("a database runner mounts the API token: %v", a)
	}
	if _, ok := sts.Spec.Selector.MatchLabels[controller.LabelAzureWorkloadIdentity]; ok {
		t.Error("the StatefulSet's selector took the Azure label: it could never drop it")
	}
	for _, v := range sec(t, e, ns, "db") {
		if strings.Contains(v, "accessKeyID") {
			t.Error("the rendered config holds S3 keys the storage never gave")
		}
	}

	// Only Azure: the other annotations go.
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: operatorNS, Name: st}, storageObj); err != nil {
		t.Fatal(err)
	}
	storageObj.Spec.WorkloadIdentity = &v1alpha1.WorkloadIdentity{AzureClientID: wi.AzureClientID}
	if err := e.Client.Update(ctx, storageObj); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "only the Azure annotation", func() bool {
		return e.Client.Get(ctx, runnerKey(ns, "db"), sa) == nil && maps.Equal(sa.Annotations, map[string]string{controller.AnnotationAzureClientID: wi.AzureClientID})
	})

	// EKS Pod Identity: the runner keeps a ServiceAccount of its own, of the
	// name an association points at, and carries no annotation.
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: operatorNS, Name: st}, storageObj); err != nil {
		t.Fatal(err)
	}
	storageObj.Spec.WorkloadIdentity = &v1alpha1.WorkloadIdentity{AWSPodIdentity: true}
	if err := e.Client.Update(ctx, storageObj); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "a plain ServiceAccount of its own for Pod Identity", func() bool {
		sts, ok := statefulSet(t, e, ns, "db")
		return ok && e.Client.Get(ctx, runnerKey(ns, "db"), sa) == nil && len(sa.Annotations) == 0 &&
			sts.Spec.Template.Spec.ServiceAccountName == controller.RunnerName(ns, "db") &&
			sts.Spec.Template.Labels[controller.LabelAzureWorkloadIdentity] == ""
	})

	// No identity: no ServiceAccount, no label, no reference.
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: operatorNS, Name: st}, storageObj); err != nil {
		t.Fatal(err)
	}
	storageObj.Spec.WorkloadIdentity = nil
	if err := e.Client.Update(ctx, storageObj); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "identity removed", func() bool {
		sts, ok := statefulSet(t, e, ns, "db")
		gone := apierrors.IsNotFound(e.Client.Get(ctx, runnerKey(ns, "db"), &corev1.ServiceAccount{}))
		return ok && gone && sts.Spec.Template.Spec.ServiceAccountName == "" && sts.Spec.Template.Labels[controller.LabelAzureWorkloadIdentity] == ""
	})
}

// TestWorkloadIdentityValidated: the CRD refuses an empty identity and
// values that are not what the clouds expect.
func TestWorkloadIdentityValidated(t *testing.T) {
	e := cluster(t)
	for name, wi := range map[string]v1alpha1.WorkloadIdentity{
		"empty":       {},
		"aws not arn": {AWSRoleARN: "coffer-backups"},
		"gcp no @":    {GCPServiceAccount: "coffer"},
		"azure no id": {AzureClientID: "my-identity"},
	} {
		st := &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: uniq("bad-")},
			Spec: v1alpha1.BackupStorageSpec{S3: &v1alpha1.S3Storage{Bucket: "b"}, WorkloadIdentity: &wi}}
		if err := e.Client.Create(context.Background(), st); !apierrors.IsInvalid(err) {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
}

// sec returns the rendered config Secret's values.
func sec(t *testing.T, e *testutil.Envtest, ns, name string) map[string]string {
	t.Helper()
	s := &corev1.Secret{}
	if err := e.Client.Get(context.Background(), runnerKey(ns, name), s); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}
