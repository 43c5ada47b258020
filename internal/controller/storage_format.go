package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/naming"
)

// Conditions on a BackupStorage (storage.go) and their reasons.
const (
	ConditionFormatSelected = v1alpha1.ConditionFormatSelected
	ConditionDedupKeyReady  = v1alpha1.ConditionDedupKeyReady

	// ReasonSpecFormat: spec.format names the format.
	ReasonSpecFormat = "SpecFormat"
	// ReasonSpecChunked: spec.chunked is set, without spec.format.
	ReasonSpecChunked = "SpecChunked"
	// ReasonFormatRecorded: status.format was recorded earlier and is kept.
	ReasonFormatRecorded = "Recorded"
	// ReasonKeptOnUpgrade: the storage was in use before this controller
	// chose formats, so it keeps format 1.
	ReasonKeptOnUpgrade = "KeptOnUpgrade"
	// ReasonNewStorageDefault: a storage new to the controller gets Chunked.
	ReasonNewStorageDefault = "NewStorageDefault"

	// ReasonKeyGiven: spec.chunked.keySecretRef names the key.
	ReasonKeyGiven = "KeySecretRefGiven"
	// ReasonKeyGenerated: the key is in the Secret the controller generated.
	ReasonKeyGenerated = "KeyGenerated"
	// ReasonKeySecretConflict: a Secret with the generated key's name exists
	// and is not Coffer's, or holds no usable key; the controller leaves it.
	ReasonKeySecretConflict = "KeySecretConflict"

	// ReasonFormatPending on a definition's Ready (Unknown): its storage's
	// format is not decided yet.
	ReasonFormatPending = "StorageFormatPending"
	// ReasonDedupKeyNotReady on a definition's Ready: its storage writes
	// format 2 and its generated dedup key is missing (Unknown: not
	// generated yet) or not Coffer's (False).
	ReasonDedupKeyNotReady = "DedupKeyNotReady"
)

// The generated dedup key Secret: its one data key, and the component label
// that, with the managed-by and storage labels, marks it as Coffer's.
const (
	dedupKeyDataKey   = "key"
	dedupKeyComponent = "dedup-key"
	// LabelStorage on a generated dedup key Secret names its storage.
	LabelStorage = "coffer.dev/storage"
	// dedupKeyBytes of randomness, hex-encoded into the Secret.
	dedupKeyBytes = 32
)

// formatChoice is a storage's effective format and why, for the
// FormatSelected condition.
type formatChoice struct {
	format  v1alpha1.StorageFormat
	reason  string
	message string
}

// declaredFormat is the format a storage's spec or recorded status fixes;
// false when neither does and the storage reconciler must choose.
func declaredFormat(st *v1alpha1.BackupStorage) (formatChoice, bool) {
	switch {
	case st.Spec.Format != "":
		return formatChoice{st.Spec.Format, ReasonSpecFormat,
			fmt.Sprintf("new backups are written as %s (spec.format)", describeFormat(st.Spec.Format))}, true
	case st.Spec.Chunked != nil:
		return formatChoice{v1alpha1.StorageFormatChunked, ReasonSpecChunked,
			"new backups are written as " + describeFormat(v1alpha1.StorageFormatChunked) + " (spec.chunked is set)"}, true
	case st.Status.Format != "":
		return formatChoice{st.Status.Format, ReasonFormatRecorded,
			fmt.Sprintf("new backups are written as %s, as recorded in status.format; set spec.format to change it", describeFormat(st.Status.Format))}, true
	}
	return formatChoice{}, false
}

// defaultFormat is the choice for a storage nothing declares a format for:
// Chunked for a new storage; Stream for one already in use (servedBy says
// by what), so upgrading the controller never switches a storage's format.
func defaultFormat(servedBy string) formatChoice {
	if servedBy != "" {
		return formatChoice{v1alpha1.StorageFormatStream, ReasonKeptOnUpgrade,
			fmt.Sprintf("new backups are written as %s: the storage was in use before this controller version (%s), so it keeps its format; set spec.format: Chunked to switch",
				describeFormat(v1alpha1.StorageFormatStream), servedBy)}
	}
	return formatChoice{v1alpha1.StorageFormatChunked, ReasonNewStorageDefault,
		fmt.Sprintf("new backups are written as %s, the default for new storages; set spec.format: Stream for format 1",
			describeFormat(v1alpha1.StorageFormatChunked))}
}

// keepWhy keeps the reason a default was chosen for once the format is
// recorded: "recorded" is true but says less than "new storage" did.
func keepWhy(c formatChoice, conds []metav1.Condition) formatChoice {
	old := meta.FindStatusCondition(conds, ConditionFormatSelected)
	if c.reason == ReasonFormatRecorded && old != nil && (old.Reason == ReasonNewStorageDefault || old.Reason == ReasonKeptOnUpgrade) {
		c.reason, c.message = old.Reason, old.Message
	}
	return c
}

func describeFormat(f v1alpha1.StorageFormat) string {
	switch f {
	case v1alpha1.StorageFormatChunked:
		return "Chunked (format version 2, deduplicated)"
	case v1alpha1.StorageFormatStream:
		return "Stream (format version 1, one object per target)"
	}
	return string(f)
}

// generatesKey: the storage writes format 2 without a key of its own, so
// the controller generates one.
func generatesKey(st *v1alpha1.BackupStorage, f v1alpha1.StorageFormat) bool {
	return f == v1alpha1.StorageFormatChunked && (st.Spec.Chunked == nil || st.Spec.Chunked.KeySecretRef == nil)
}

// dedupKeyLabels mark a generated dedup key Secret as Coffer's.
func dedupKeyLabels(storage string) map[string]string {
	return map[string]string{LabelManagedBy: managerName, LabelComponent: dedupKeyComponent, LabelStorage: LabelValue(storage)}
}

// coffersKey: sec is the dedup key the controller generated for storage.
func coffersKey(sec *corev1.Secret, storage string) bool {
	for k, v := range dedupKeyLabels(storage) {
		if sec.Labels[k] != v {
			return false
		}
	}
	return true
}

// keyConflictMessage says why a Secret with the generated key's name is
// left alone. It names the Secret, never its contents.
func keyConflictMessage(st *v1alpha1.BackupStorage, sec *corev1.Secret) string {
	if !coffersKey(sec, st.Name) {
		return fmt.Sprintf("Secret %s/%s exists and is not Coffer's dedup key of BackupStorage %s (labels %s=%s, %s=%s, %s=%s): Coffer does not overwrite it. Delete or rename that Secret, name your own key in spec.chunked.keySecretRef, or set spec.format: Stream",
			sec.Namespace, sec.Name, st.Name, LabelManagedBy, managerName, LabelComponent, dedupKeyComponent, LabelStorage, LabelValue(st.Name))
	}
	if len(sec.Data[dedupKeyDataKey]) < dedupKeyBytes {
		return fmt.Sprintf("Secret %s/%s, Coffer's dedup key of BackupStorage %s, holds no key of at least %d bytes under %q: Coffer does not overwrite it. Delete it to have a new key generated (later backups then share no chunks with earlier ones)",
			sec.Namespace, sec.Name, st.Name, dedupKeyBytes, dedupKeyDataKey)
	}
	return ""
}

// runnerStorage is the storage as the runner config states it: the format
// explicit (spec.chunked with a key for Chunked, no spec.chunked for
// Stream) and spec.format left out, so the runner needs no default of its
// own.
func runnerStorage(st *v1alpha1.BackupStorage, f v1alpha1.StorageFormat) *v1alpha1.BackupStorage {
	out := st.DeepCopy()
	out.Spec.Format = ""
	switch {
	case f == v1alpha1.StorageFormatStream:
		out.Spec.Chunked = nil
	case generatesKey(st, f):
		out.Spec.Chunked = &v1alpha1.ChunkedFormat{KeySecretRef: &v1alpha1.SecretKeySelector{
			Name: naming.DedupKeySecretName(st.Name), Key: dedupKeyDataKey}}
	}
	return out
}

// notReady is why a definition's runner is not rendered yet: the
// definition's Ready condition. Unknown while the controller has yet to
// record the storage's format or generate its key (moments, normally),
// False when something a user must change is in the way.
type notReady struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

// storageForRunner is the storage as its definitions' runners get it
// (runnerStorage), or, while the storage's format is not decided or its
// generated key is not usable, why not (notReady). The runner keeps
// running meanwhile: nothing is rendered.
func (r *DefinitionReconciler) storageForRunner(ctx context.Context, st *v1alpha1.BackupStorage) (*v1alpha1.BackupStorage, *notReady, error) {
	choice, ok := declaredFormat(st)
	if !ok {
		return nil, &notReady{metav1.ConditionUnknown, ReasonFormatPending,
			fmt.Sprintf("waiting for the controller to record BackupStorage %s/%s's format (status.format)", st.Namespace, st.Name)}, nil
	}
	if generatesKey(st, choice.format) {
		key := types.NamespacedName{Namespace: st.Namespace, Name: naming.DedupKeySecretName(st.Name)}
		sec := &corev1.Secret{}
		err := r.Reader.Get(ctx, key, sec)
		if apierrors.IsNotFound(err) {
			return nil, &notReady{metav1.ConditionUnknown, ReasonDedupKeyNotReady,
				fmt.Sprintf("waiting for the controller to generate BackupStorage %s/%s's dedup key into Secret %s", st.Namespace, st.Name, key.Name)}, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("dedup key Secret %s: %w", key, err)
		}
		if msg := keyConflictMessage(st, sec); msg != "" {
			return nil, &notReady{metav1.ConditionFalse, ReasonDedupKeyNotReady, msg}, nil
		}
	}
	return runnerStorage(st, choice.format), nil, nil
}
