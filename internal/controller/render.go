package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
)

// render is steps 1–4: storage, permission, config, runner objects. Problems
// a user must fix become conditions, not errors, so they are not retried
// blindly; watches on the inputs bring the definition back.
func (r *DefinitionReconciler) render(ctx context.Context, def *v1alpha1.BackupDefinition) (ctrl.Result, error) {
	// 1. The storage, in the operator namespace.
	st := &v1alpha1.BackupStorage{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.OperatorNamespace, Name: def.Spec.StorageRef.Name}, st)
	if apierrors.IsNotFound(err) {
		r.setReady(def, metav1.ConditionFalse, ReasonStorageNotFound,
			fmt.Sprintf("BackupStorage %s/%s does not exist", r.OperatorNamespace, def.Spec.StorageRef.Name))
		return ctrl.Result{}, r.deleteRunner(ctx, def)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	// 2. May this namespace use it?
	allowed, err := r.namespaceAllowed(ctx, st, def.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !allowed {
		r.setReady(def, metav1.ConditionFalse, ReasonStorageNotAllowed,
			fmt.Sprintf("BackupStorage %s/%s does not admit namespace %s (spec.allowedNamespaces)", st.Namespace, st.Name, def.Namespace))
		return ctrl.Result{}, r.deleteRunner(ctx, def)
	}
	// 2a. A filesystem storage is a directory of the machine coffer-runner
	// runs on: a runner pod has no such directory (it crash-looped), and a
	// path it does have is its own container's, lost with the pod.
	if st.Spec.Filesystem != nil {
		r.setReady(def, metav1.ConditionFalse, ReasonStorageUnusable,
			fmt.Sprintf("BackupStorage %s/%s is a filesystem storage (%s): that is for coffer-runner run standalone; a runner pod has no such directory and would lose what it writes with the pod. Use an s3 storage",
				st.Namespace, st.Name, st.Spec.Filesystem.Path))
		return ctrl.Result{}, r.deleteRunner(ctx, def)
	}
	// 2b. Only the operator's own definitions may read the runner's filesystem.
	if msg := r.localPathTargets(def); msg != "" {
		r.setReady(def, metav1.ConditionFalse, ReasonPathNotAllowed, msg)
		return ctrl.Result{}, r.deleteRunner(ctx, def)
	}
	// 2c. The storage's format as its reconciler recorded it, and its key.
	st, wait, err := r.storageForRunner(ctx, st)
	if err != nil || wait != nil {
		if wait != nil {
			r.setReady(def, wait.status, wait.reason, wait.message)
		}
		return ctrl.Result{}, err // the storage's status or key Secret changing brings the definition back
	}
	// 3. The config, with the referenced Secrets resolved.
	token, err := r.apiToken(ctx, def)
	if err != nil {
		return ctrl.Result{}, err
	}
	cfg, err := renderConfig(def, st, r.secretGetter(ctx), token)
	if err != nil {
		if errors.Is(err, errSecretMissing) {
			r.setReady(def, metav1.ConditionFalse, ReasonSecretMissing, err.Error())
			return ctrl.Result{}, nil
		}
		if errors.Is(err, errTargetNotAllowed) {
			r.setReady(def, metav1.ConditionFalse, ReasonInvalid, err.Error())
			return ctrl.Result{}, r.deleteRunner(ctx, def)
		}
		return ctrl.Result{}, err
	}
	if _, err := config.Parse(RunnerName(def.Namespace, def.Name), cfg); err != nil {
		r.setReady(def, metav1.ConditionFalse, ReasonInvalid, err.Error())
		return ctrl.Result{}, nil
	}
	// 4. The runner objects.
	if err := r.applyRunner(ctx, def, st, cfg, token); err != nil {
		return ctrl.Result{}, err
	}
	// 5. Ready only while the runner pod runs and is ready.
	ready, reason, why, err := r.runnerState(ctx, def)
	if err != nil {
		return ctrl.Result{}, err
	}
	if ready {
		r.setReady(def, metav1.ConditionTrue, ReasonRendered, "runner "+r.OperatorNamespace+"/"+RunnerName(def.Namespace, def.Name)+" is running and ready")
	} else {
		r.setReady(def, metav1.ConditionFalse, reason, why)
	}
	r.setNextBackup(def)
	// 6. Mirror the catalog.
	return r.syncCatalog(ctx, def)
}

func (r *DefinitionReconciler) namespaceAllowed(ctx context.Context, st *v1alpha1.BackupStorage, namespace string) (bool, error) {
	if st.Spec.AllowedNamespaces == nil {
		// No selector: only the operator's own namespace may use it.
		return namespace == r.OperatorNamespace, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(st.Spec.AllowedNamespaces)
	if err != nil {
		return false, nil
	}
	// Uncached: the namespace watch is metadata-only, and a second, full
	// informer could still hold the labels from before the event.
	ns := &corev1.Namespace{}
	if err := r.Reader.Get(ctx, types.NamespacedName{Name: namespace}, ns); err != nil {
		return false, err
	}
	return sel.Matches(labels.Set(ns.Labels)), nil
}

func (r *DefinitionReconciler) secretGetter(ctx context.Context) secretSource {
	return func(namespace, name string) (*corev1.Secret, error) {
		s := &corev1.Secret{}
		if err := r.Reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, s); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("%w: %v", errSecretMissing, err)
			}
			return nil, err
		}
		return s, nil
	}
}

// apiToken keeps the runner's API token stable across reconciles.
func (r *DefinitionReconciler) apiToken(ctx context.Context, def *v1alpha1.BackupDefinition) (string, error) {
	s := &corev1.Secret{}
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: r.OperatorNamespace, Name: RunnerName(def.Namespace, def.Name)}, s)
	if err == nil && len(s.Data[tokenKey]) > 0 {
		return string(s.Data[tokenKey]), nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (r *DefinitionReconciler) applyRunner(ctx context.Context, def *v1alpha1.BackupDefinition, st *v1alpha1.BackupStorage, cfg []byte, token string) error {
	name := RunnerName(def.Namespace, def.Name)
	key := types.NamespacedName{Namespace: r.OperatorNamespace, Name: name}
	if err := r.applySecret(ctx, key, def, cfg, token); err != nil {
		return fmt.Errorf("config Secret %s: %w", key, err)
	}
	if err := r.applyRunnerRBAC(ctx, def, st); err != nil {
		return err
	}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, sts, func() error {
		mutateStatefulSet(sts, def, r.Settings, configHash(cfg))
		applyCloudIdentity(&sts.Spec.Template, def, st, r.Settings)
		return nil
	}); err != nil {
		return fmt.Errorf("StatefulSet %s: %w", key, err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, svc, func() error {
		mutateService(svc, def)
		return nil
	}); err != nil {
		return fmt.Errorf("Service %s: %w", key, err)
	}
	return nil
}

// applySecret creates or updates the config Secret through the uncached
// reader, so the controller never holds a cache of every Secret.
func (r *DefinitionReconciler) applySecret(ctx context.Context, key types.NamespacedName, def *v1alpha1.BackupDefinition, cfg []byte, token string) error {
	sec := &corev1.Secret{}
	err := r.Reader.Get(ctx, key, sec)
	if apierrors.IsNotFound(err) {
		sec = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		mutateConfigSecret(sec, def, cfg, token)
		return r.Client.Create(ctx, sec)
	}
	if err != nil {
		return err
	}
	want := sec.DeepCopy()
	mutateConfigSecret(want, def, cfg, token)
	if equality.Semantic.DeepEqual(want.Data, sec.Data) && equality.Semantic.DeepEqual(want.Labels, sec.Labels) && want.Type == sec.Type {
		return nil
	}
	return r.Client.Update(ctx, want)
}

// deleteRunner removes a definition's rendered objects, if any.
func (r *DefinitionReconciler) deleteRunner(ctx context.Context, def *v1alpha1.BackupDefinition) error {
	meta := metav1.ObjectMeta{Namespace: r.OperatorNamespace, Name: RunnerName(def.Namespace, def.Name)}
	var errs []error
	for _, obj := range []client.Object{&appsv1.StatefulSet{ObjectMeta: meta}, &corev1.Service{ObjectMeta: meta}, &corev1.Secret{ObjectMeta: meta}} {
		if err := r.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, r.deleteRunnerRBAC(ctx, def))...)
}
