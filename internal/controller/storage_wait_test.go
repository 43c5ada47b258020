package controller

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/naming"
)

// TestStorageForRunnerWaits: a definition whose storage's format or
// generated key the controller has yet to record is Ready Unknown (no
// Warning event, not reported as not ready), one whose key Secret is not
// Coffer's is Ready False; a storage with both renders.
func TestStorageForRunnerWaits(t *testing.T) {
	st := &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: testOperatorNS, Name: "s3"}}
	keyName := naming.DedupKeySecretName(st.Name)
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testOperatorNS, Name: keyName},
		Data: map[string][]byte{dedupKeyDataKey: []byte(strings.Repeat("f", 64))}}
	ours := foreign.DeepCopy()
	ours.Labels = dedupKeyLabels(st.Name)

	recorded := st.DeepCopy()
	recorded.Status.Format = v1alpha1.StorageFormatChunked
	for _, c := range []struct {
		name    string
		storage *v1alpha1.BackupStorage
		secrets []*corev1.Secret
		want    *notReady
	}{
		{"format not recorded", st, nil, &notReady{metav1.ConditionUnknown, ReasonFormatPending, "status.format"}},
		{"key not generated", recorded, nil, &notReady{metav1.ConditionUnknown, ReasonDedupKeyNotReady, "waiting for the controller to generate"}},
		{"key Secret not Coffer's", recorded, []*corev1.Secret{foreign}, &notReady{metav1.ConditionFalse, ReasonDedupKeyNotReady, "is not Coffer's"}},
		{"ready", recorded, []*corev1.Secret{ours}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := fake.NewClientBuilder()
			for _, s := range c.secrets {
				b = b.WithObjects(s)
			}
			r := &DefinitionReconciler{Reader: b.Build()}
			got, wait, err := r.storageForRunner(context.Background(), c.storage)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.want == nil && (wait != nil || got == nil):
				t.Fatalf("storage not rendered: %+v", wait)
			case c.want == nil:
				if got.Spec.Chunked == nil || got.Spec.Chunked.KeySecretRef.Name != keyName {
					t.Fatalf("rendered storage does not name the generated key: %+v", got.Spec.Chunked)
				}
			case wait == nil:
				t.Fatal("rendered although it should wait")
			case wait.status != c.want.status || wait.reason != c.want.reason || !strings.Contains(wait.message, c.want.message):
				t.Fatalf("got %s %s %q, want %s %s containing %q", wait.status, wait.reason, wait.message, c.want.status, c.want.reason, c.want.message)
			}
		})
	}
}
