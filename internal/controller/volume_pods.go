package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/engine/volume"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// LabelReader marks volume reader and writer pods and their Secrets.
const LabelReader = "coffer.dev/volume-reader"

// hasVolumeTargets: the definition backs up a claim through reader pods.
func hasVolumeTargets(def *v1alpha1.BackupDefinition) bool {
	return all.NeedsControllerPods(def.Spec.Targets)
}

// syncReaders starts a reader pod for every volume push the runner waits
// for, and removes readers whose push is no longer pending. The session URL
// (its token) reaches the pod through a Secret, never its arguments.
func (r *DefinitionReconciler) syncReaders(ctx context.Context, def *v1alpha1.BackupDefinition, rc *runnerapi.Client) (pending int, err error) {
	pushes, err := rc.VolumePushes(ctx)
	if err != nil {
		return 0, err
	}
	want := map[string]runnerapi.VolumePush{}
	for _, p := range pushes {
		want[readerName(def.Name, p)] = p
	}
	var pods corev1.PodList
	// Uncached: a cache would hold every pod of the cluster.
	if err := r.Reader.List(ctx, &pods, client.InNamespace(def.Namespace), client.MatchingLabels{LabelReader: LabelValue(def.Name)}); err != nil {
		return len(pushes), err
	}
	var errs []error
	for _, pod := range pods.Items {
		if _, ok := want[pod.Name]; ok {
			delete(want, pod.Name)
			continue
		}
		errs = append(errs, r.deleteReader(ctx, def.Namespace, pod.Name))
	}
	for name, p := range want {
		errs = append(errs, r.createReader(ctx, def, name, p))
	}
	return len(pushes), errors.Join(errs...)
}

// readerName is stable for one session: a new backup gets a new pod.
func readerName(definition string, p runnerapi.VolumePush) string {
	sum := sha256.Sum256([]byte(p.URL))
	suffix := "-" + hex.EncodeToString(sum[:])[:10]
	role := "reader"
	if p.Direction == runnerapi.DirectionRestore {
		role = "writer"
	}
	name := "coffer-" + role + "-" + definition + "-" + p.Target
	if len(name)+len(suffix) > maxNameLength {
		name = strings.TrimRight(name[:maxNameLength-len(suffix)], "-")
	}
	return name + suffix
}

func (r *DefinitionReconciler) createReader(ctx context.Context, def *v1alpha1.BackupDefinition, name string, p runnerapi.VolumePush) error {
	labels := map[string]string{LabelReader: LabelValue(def.Name), LabelManagedBy: managerName, LabelComponent: "volume-reader"}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: def.Namespace, Name: name, Labels: labels},
		Data: map[string][]byte{volume.URLKey: []byte(p.URL)}}
	if err := r.Client.Create(ctx, sec); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: def.Namespace, Name: name, Labels: labels}, Spec: r.readerPodSpec(def, name, p)}
	if err := r.Client.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
		if apierrors.IsForbidden(err) {
			// Refused by admission (Pod Security, a policy): no pod will
			// ever read the Secret, so it does not stay behind, and the
			// runner's backup or restore fails now with the reason rather
			// than after its wait for a pod (15 minutes).
			_ = r.Client.Delete(ctx, sec)
			refused := &readerRefusedError{pod: name, err: err}
			if derr := volume.Decline(ctx, p.URL, refused.Error()); derr != nil {
				return errors.Join(refused, fmt.Errorf("telling the runner that volume pod %s was refused: %w", name, derr))
			}
			return refused
		}
		return err
	}
	return nil
}

// ConditionVolumeReaders is False while the definition's namespace refuses
// its volume reader or writer pods.
const ConditionVolumeReaders = "VolumeReadersAdmitted"

// readerRefusedError: the API server refused a reader or writer pod.
type readerRefusedError struct {
	pod string
	err error
}

func (e *readerRefusedError) Error() string {
	return fmt.Sprintf("volume pod %s was refused: %v. A reader runs as root with the capability DAC_OVERRIDE on a read-only mount, "+
		"a writer as root with CHOWN, DAC_OVERRIDE, FOWNER and MKNOD: Pod Security \"baseline\" admits both, \"restricted\" neither "+
		"(label the namespace pod-security.kubernetes.io/enforce=baseline)", e.pod, e.err)
}

func (e *readerRefusedError) Unwrap() error { return e.err }

func (r *DefinitionReconciler) readerPodSpec(def *v1alpha1.BackupDefinition, secret string, p runnerapi.VolumePush) corev1.PodSpec {
	image := r.RunnerImage
	var pull []corev1.LocalObjectReference
	if def.Spec.Runner != nil {
		if def.Spec.Runner.Image != "" {
			image = def.Spec.Runner.Image
		}
		// Secrets of the definition's namespace, where the pod runs.
		pull = def.Spec.Runner.ImagePullSecrets
	}
	args := []string{"push-dir", "--dir", p.Path, "--url-file", volume.URLFile(), "--log-format", "json"}
	for _, e := range p.Excludes {
		args = append(args, "--exclude", e)
	}
	// A reader is root that may read every file but change none: the volume
	// is mounted read-only and every other capability is dropped.
	// DAC_OVERRIDE rather than DAC_READ_SEARCH: on a read-only volume and root
	// filesystem they allow the same, and Pod Security "baseline" admits
	// only the former. A writer
	// mounts it read-write and may set owners and modes as the backup had.
	readOnly := true
	caps := []corev1.Capability{"DAC_OVERRIDE"}
	if p.Direction == runnerapi.DirectionRestore {
		args = []string{"pull-dir", "--dir", p.Path, "--url-file", volume.URLFile(), "--log-format", "json"}
		if p.Clean {
			args = append(args, "--clean")
		}
		readOnly = false
		caps = []corev1.Capability{"DAC_OVERRIDE", "CHOWN", "FOWNER", "MKNOD"}
	}
	return corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyNever,
		ImagePullSecrets:             pull,
		AutomountServiceAccountToken: ptr.To(false),
		Containers: []corev1.Container{{
			Name: "reader", Image: image, Args: args,
			VolumeMounts: []corev1.VolumeMount{
				{Name: "volume", MountPath: p.Path, ReadOnly: readOnly},
				{Name: "push", MountPath: volume.URLMountDir, ReadOnly: true},
			},
			SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](0), AllowPrivilegeEscalation: ptr.To(false),
				ReadOnlyRootFilesystem: ptr.To(true),
				Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: caps}},
		}},
		Volumes: []corev1.Volume{
			{Name: "volume", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: p.PersistentVolumeClaim, ReadOnly: readOnly}}},
			{Name: "push", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret, DefaultMode: ptr.To[int32](0o400)}}},
		},
	}
}

func (r *DefinitionReconciler) deleteReader(ctx context.Context, namespace, name string) error {
	meta := metav1.ObjectMeta{Namespace: namespace, Name: name}
	var errs []error
	for _, obj := range []client.Object{&corev1.Pod{ObjectMeta: meta}, &corev1.Secret{ObjectMeta: meta}} {
		if err := r.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
