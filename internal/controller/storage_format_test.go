package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// TestFormatChoice: spec.format, then spec.chunked, then the recorded
// status.format, then the default by whether the storage was in use.
func TestFormatChoice(t *testing.T) {
	t.Parallel()
	own := &v1alpha1.ChunkedFormat{KeySecretRef: &v1alpha1.SecretKeySelector{Name: "mine", Key: "k"}}
	cases := map[string]struct {
		spec     v1alpha1.BackupStorageSpec
		status   v1alpha1.BackupStorageStatus
		servedBy string
		want     v1alpha1.StorageFormat
		reason   string
		keyName  string // the rendered keySecretRef's name; "" for none
	}{
		"new":                    {want: v1alpha1.StorageFormatChunked, reason: ReasonNewStorageDefault, keyName: "s-dedup-key"},
		"in use":                 {servedBy: "a runner", want: v1alpha1.StorageFormatStream, reason: ReasonKeptOnUpgrade},
		"spec Stream":            {spec: v1alpha1.BackupStorageSpec{Format: v1alpha1.StorageFormatStream, Chunked: own}, want: v1alpha1.StorageFormatStream, reason: ReasonSpecFormat},
		"spec Chunked, in use":   {spec: v1alpha1.BackupStorageSpec{Format: v1alpha1.StorageFormatChunked}, servedBy: "x", want: v1alpha1.StorageFormatChunked, reason: ReasonSpecFormat, keyName: "s-dedup-key"},
		"spec.chunked own key":   {spec: v1alpha1.BackupStorageSpec{Chunked: own}, status: v1alpha1.BackupStorageStatus{Format: v1alpha1.StorageFormatStream}, want: v1alpha1.StorageFormatChunked, reason: ReasonSpecChunked, keyName: "mine"},
		"spec.chunked no key":    {spec: v1alpha1.BackupStorageSpec{Chunked: &v1alpha1.ChunkedFormat{}}, want: v1alpha1.StorageFormatChunked, reason: ReasonSpecChunked, keyName: "s-dedup-key"},
		"recorded Stream sticks": {status: v1alpha1.BackupStorageStatus{Format: v1alpha1.StorageFormatStream}, want: v1alpha1.StorageFormatStream, reason: ReasonFormatRecorded},
		"recorded Chunked, why kept": {status: v1alpha1.BackupStorageStatus{Format: v1alpha1.StorageFormatChunked,
			Conditions: []metav1.Condition{{Type: ConditionFormatSelected, Status: metav1.ConditionTrue, Reason: ReasonNewStorageDefault}}},
			want: v1alpha1.StorageFormatChunked, reason: ReasonNewStorageDefault, keyName: "s-dedup-key"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: tc.spec, Status: tc.status}
			c, ok := declaredFormat(st)
			if !ok {
				c = defaultFormat(tc.servedBy)
			}
			c = keepWhy(c, st.Status.Conditions)
			if c.format != tc.want || c.reason != tc.reason {
				t.Fatalf("got %s (%s), want %s (%s)", c.format, c.reason, tc.want, tc.reason)
			}
			r := runnerStorage(st, c.format)
			got := ""
			if r.Spec.Chunked != nil {
				got = r.Spec.Chunked.KeySecretRef.Name
			}
			if got != tc.keyName || r.Spec.Format != "" {
				t.Fatalf("rendered keySecretRef %q format %q, want %q and none", got, r.Spec.Format, tc.keyName)
			}
		})
	}
}
