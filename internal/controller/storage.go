package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/naming"
)

// StorageReconciler records each BackupStorage's format (status.format) and
// generates the dedup key of a format 2 storage that names none. It writes
// nothing to the storage: definitions' runners do.
type StorageReconciler struct {
	Client client.Client
	// Reader reads Secrets uncached: the controller never caches Secret data.
	Reader client.Reader
	// OperatorNamespace is where storages, their keys and the runners live.
	OperatorNamespace string
	Clock             Clock
	// Events records condition changes; nil records none.
	Events events.EventRecorder
}

// Reconcile: fetch, then 1. choose the format, 2. make sure the dedup key
// exists (before the format is recorded, so a definition rendering format
// 2 finds it), 3. record both in status.
func (r *StorageReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	st := &v1alpha1.BackupStorage{}
	if err := r.Client.Get(ctx, req.NamespacedName, st); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if st.Namespace != r.OperatorNamespace || !st.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // definitions use storages of the operator namespace only
	}
	before := st.DeepCopy()
	// 1. The format.
	choice, ok := declaredFormat(st)
	if !ok {
		servedBy, err := r.servedBefore(ctx, st)
		if err != nil {
			return ctrl.Result{}, err
		}
		choice = defaultFormat(servedBy)
	}
	choice = keepWhy(choice, st.Status.Conditions)
	c := conditionsOf(&st.Status.Conditions, st.Generation, r.Clock)
	// 2. The dedup key.
	switch {
	case generatesKey(st, choice.format):
		status, reason, msg, err := r.ensureKey(ctx, st)
		if err != nil {
			return ctrl.Result{}, err
		}
		c.set(ConditionDedupKeyReady, status, reason, msg)
	case choice.format == v1alpha1.StorageFormatChunked:
		ref := st.Spec.Chunked.KeySecretRef
		c.set(ConditionDedupKeyReady, metav1.ConditionTrue, ReasonKeyGiven,
			fmt.Sprintf("the dedup key is Secret %s/%s key %q (spec.chunked.keySecretRef)", st.Namespace, ref.Name, ref.Key))
	default:
		meta.RemoveStatusCondition(&st.Status.Conditions, ConditionDedupKeyReady)
	}
	// 3. Record.
	st.Status.Format = choice.format
	c.set(ConditionFormatSelected, metav1.ConditionTrue, choice.reason, choice.message)
	eventOnChange(r.Events, st, before.Status.Conditions, st.Status.Conditions, ConditionFormatSelected)
	eventOnChange(r.Events, st, before.Status.Conditions, st.Status.Conditions, ConditionDedupKeyReady)
	return ctrl.Result{}, patchStatus(ctx, r.Client, before, st)
}

// servedBefore says what shows that the storage was in use before this
// controller chose formats, or "" for a new storage: status conditions
// written by an earlier controller, or a runner rendered for a definition
// using it. This controller renders no runner before the storage's format
// is recorded, so such a runner is an earlier version's.
func (r *StorageReconciler) servedBefore(ctx context.Context, st *v1alpha1.BackupStorage) (string, error) {
	if len(st.Status.Conditions) > 0 {
		return "it has status conditions but no status.format", nil
	}
	var defs v1alpha1.BackupDefinitionList
	if err := r.Client.List(ctx, &defs, client.MatchingFields{indexStorage: st.Name}); err != nil {
		return "", fmt.Errorf("list definitions using BackupStorage %s: %w", st.Name, err)
	}
	for _, d := range defs.Items {
		key := types.NamespacedName{Namespace: r.OperatorNamespace, Name: RunnerName(d.Namespace, d.Name)}
		err := r.Client.Get(ctx, key, &appsv1.StatefulSet{})
		if err == nil {
			return fmt.Sprintf("BackupDefinition %s/%s already has a runner, %s", d.Namespace, d.Name, key.Name), nil
		}
		if !apierrors.IsNotFound(err) {
			return "", fmt.Errorf("runner StatefulSet %s: %w", key, err)
		}
	}
	return "", nil
}

// ensureKey makes sure the storage's generated dedup key exists: it
// creates the Secret when missing, reuses Coffer's own, and refuses any
// other Secret of that name. It never replaces a key. The returned message
// names the Secret, never its value.
func (r *StorageReconciler) ensureKey(ctx context.Context, st *v1alpha1.BackupStorage) (metav1.ConditionStatus, string, string, error) {
	key := types.NamespacedName{Namespace: st.Namespace, Name: naming.DedupKeySecretName(st.Name)}
	sec := &corev1.Secret{}
	err := r.Reader.Get(ctx, key, sec)
	switch {
	case apierrors.IsNotFound(err):
		if err := r.createKey(ctx, st, key); err != nil {
			return "", "", "", err
		}
		return metav1.ConditionTrue, ReasonKeyGenerated, keyGeneratedMessage(key), nil
	case err != nil:
		return "", "", "", fmt.Errorf("dedup key Secret %s: %w", key, err)
	}
	if msg := keyConflictMessage(st, sec); msg != "" {
		return metav1.ConditionFalse, ReasonKeySecretConflict, msg, nil
	}
	// A storage deleted and created again under its name reuses the key;
	// owned by the new storage, it is not collected with the old one.
	if !ownedBy(sec, st) {
		if err := controllerutil.SetOwnerReference(st, sec, r.Client.Scheme()); err != nil {
			return "", "", "", err
		}
		if err := r.Client.Update(ctx, sec); err != nil {
			return "", "", "", fmt.Errorf("own dedup key Secret %s: %w", key, err)
		}
	}
	return metav1.ConditionTrue, ReasonKeyGenerated, keyGeneratedMessage(key), nil
}

func keyGeneratedMessage(key types.NamespacedName) string {
	return fmt.Sprintf("the dedup key is in Secret %s/%s, generated by Coffer; restores do not need it, losing it only makes later backups store every chunk again",
		key.Namespace, key.Name)
}

func (r *StorageReconciler) createKey(ctx context.Context, st *v1alpha1.BackupStorage, key types.NamespacedName) error {
	b := make([]byte, dedupKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("generate dedup key: %w", err)
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: dedupKeyLabels(st.Name),
			Annotations: map[string]string{AnnotationStorage: st.Name}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{dedupKeyDataKey: []byte(hex.EncodeToString(b))},
	}
	if err := controllerutil.SetOwnerReference(st, sec, r.Client.Scheme()); err != nil {
		return err
	}
	if err := r.Client.Create(ctx, sec); err != nil {
		// AlreadyExists: created since we looked; the retry inspects it.
		return fmt.Errorf("create dedup key Secret %s: %w", key, err)
	}
	return nil
}

// AnnotationStorage on a generated dedup key Secret holds its storage's
// whole name (label values are cut at 63 characters).
const AnnotationStorage = "coffer.dev/storage"

func ownedBy(obj metav1.Object, st *v1alpha1.BackupStorage) bool {
	for _, o := range obj.GetOwnerReferences() {
		if o.UID == st.UID {
			return true
		}
	}
	return false
}

// SetupWithManager watches storages and the Secrets of the operator
// namespace by metadata, so a generated key deleted, or a foreign Secret
// in its place removed, brings the storage back.
func (r *StorageReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("backupstorage").
		For(&v1alpha1.BackupStorage{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.forKeySecret), builder.OnlyMetadata).
		Complete(r)
}

// forKeySecret maps a Secret to the storage whose generated key it is named as.
func (r *StorageReconciler) forKeySecret(ctx context.Context, o client.Object) []reconcile.Request {
	if o.GetNamespace() != r.OperatorNamespace {
		return nil
	}
	var storages v1alpha1.BackupStorageList
	if err := r.Client.List(ctx, &storages, client.InNamespace(r.OperatorNamespace)); err != nil {
		return nil
	}
	for _, st := range storages.Items {
		if naming.DedupKeySecretName(st.Name) == o.GetName() {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: st.Namespace, Name: st.Name}}}
		}
	}
	return nil
}
