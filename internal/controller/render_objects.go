package controller

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// RunnerPort is where the runner serves its API, metrics and push endpoint.
const RunnerPort = 8080

// configMountPath is where the config Secret is mounted in the runner.
const configMountPath = "/etc/coffer"

// A stopping runner (SIGTERM: a roll after a config change, a drained node,
// a deleted definition) first lets its backup or restore in flight finish
// for up to spec.runner.drainTimeout, then has runnerShutdownTimeout to
// abort and release its lease. The pod's grace period covers both, plus
// terminationMargin, so the kubelet never kills a runner that is still
// cleaning up, and the StatefulSet's roll waits for the work to end.
const (
	runnerShutdownTimeout = 50 * time.Second
	terminationMargin     = 10 * time.Second
)

// terminationGracePeriod is the runner pod's terminationGracePeriodSeconds.
func terminationGracePeriod(def *v1alpha1.BackupDefinition) int64 {
	return int64((def.Spec.Runner.EffectiveDrainTimeout() + runnerShutdownTimeout + terminationMargin).Seconds())
}

// Settings are the operator-wide inputs to rendering.
type Settings struct {
	// OperatorNamespace holds storages and every rendered object.
	OperatorNamespace string
	// RunnerImage is the default coffer-runner image.
	RunnerImage string
	// ImagePullSecrets are added to every runner pod (they live in the
	// operator namespace, like the runner).
	ImagePullSecrets []string
	// RunnerResources are a runner's resources when its definition's
	// spec.runner.resources is empty; empty means DefaultRunnerResources.
	RunnerResources corev1.ResourceRequirements
}

// DefaultRunnerResources are a runner's resources when neither the
// definition nor the controller's --runner-resources says: enough for the
// pipeline's bounded buffers and a dump tool's output, no CPU limit (a
// dump is throttled by the database, and a CPU limit only slows it more).
func DefaultRunnerResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
}

// mutateStatefulSet sets everything the controller owns on the runner's
// StatefulSet, so hand edits are reverted on the next reconcile.
func mutateStatefulSet(sts *appsv1.StatefulSet, def *v1alpha1.BackupDefinition, s Settings, hash string) {
	name := RunnerName(def.Namespace, def.Name)
	labels := runnerLabels(def.Namespace, def.Name)
	sts.Labels = labels
	definitionAnnotation(sts, def.Namespace, def.Name)
	sts.Spec.Replicas = ptr.To[int32](1)
	sts.Spec.ServiceName = name
	// One runner at a time: the StatefulSet deletes the old pod before it
	// starts the new one (seed 001), and the lease in storage backs it up.
	sts.Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	sts.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}
	if sts.Spec.Selector == nil { // immutable once created
		sts.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	}
	sts.Spec.Template.Labels = labels
	sts.Spec.Template.Annotations = map[string]string{AnnotationConfigHash: hash}
	sts.Spec.Template.Spec = runnerPodSpec(def, s, name)
}

func runnerPodSpec(def *v1alpha1.BackupDefinition, s Settings, name string) corev1.PodSpec {
	image := s.RunnerImage
	var resources corev1.ResourceRequirements
	var affinity *corev1.Affinity
	if r := def.Spec.Runner; r != nil {
		if r.Image != "" {
			image = r.Image
		}
		if r.Resources != nil {
			resources = *r.Resources
		}
		if r.DatabasePodSelector != nil {
			affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
					Weight: 100,
					PodAffinityTerm: corev1.PodAffinityTerm{
						LabelSelector: r.DatabasePodSelector,
						Namespaces:    []string{def.Namespace},
						TopologyKey:   "kubernetes.io/hostname",
					},
				}},
			}}
		}
	}
	if resources.Requests == nil && resources.Limits == nil {
		resources = *s.RunnerResources.DeepCopy()
	}
	if resources.Requests == nil && resources.Limits == nil {
		resources = DefaultRunnerResources()
	}
	var pull []corev1.LocalObjectReference
	for _, p := range s.ImagePullSecrets {
		pull = append(pull, corev1.LocalObjectReference{Name: p})
	}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(RunnerPort)}},
			PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3}
	}
	spec := corev1.PodSpec{
		ImagePullSecrets:              pull,
		Affinity:                      affinity,
		TerminationGracePeriodSeconds: ptr.To(terminationGracePeriod(def)),
		// fsGroup makes the config Secret's files (root-owned, mode 0440)
		// readable by the runner's group.
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
			RunAsGroup: ptr.To[int64](65532), FSGroup: ptr.To[int64](65532),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			Name:  "runner",
			Image: image,
			Args:  runnerArgs(def, s),
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: RunnerPort}},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "config", MountPath: configMountPath, ReadOnly: true},
				{Name: "tmp", MountPath: "/tmp"},
			},
			Resources:      resources,
			ReadinessProbe: probe(runnerapi.PathReadyz),
			LivenessProbe:  probe(runnerapi.PathHealthz),
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		}},
		Volumes: []corev1.Volume{
			{Name: "config", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name, DefaultMode: ptr.To[int32](0o440)}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
	runnerIdentity(&spec, def, s, name) // a ServiceAccount token only for targets that read the API
	return spec
}

// runnerArgs is the runner container's command line.
func runnerArgs(def *v1alpha1.BackupDefinition, s Settings) []string {
	return []string{"run", "-f", configMountPath + "/" + configKey, "--listen", ":8080", "--log-format", "json",
		"--drain-timeout", def.Spec.Runner.EffectiveDrainTimeout().String(), "--shutdown-timeout", runnerShutdownTimeout.String(),
		"--advertise-url", ServiceURL(s.OperatorNamespace, def.Namespace, def.Name)}
}

// mutateService sets the runner's Service: the controller calls the API
// through it, and push sources (CockroachDB, PVC readers) send to it.
func mutateService(svc *corev1.Service, def *v1alpha1.BackupDefinition) {
	labels := runnerLabels(def.Namespace, def.Name)
	svc.Labels = labels
	definitionAnnotation(svc, def.Namespace, def.Name)
	svc.Spec.Selector = labels
	svc.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: RunnerPort, TargetPort: intstr.FromInt32(RunnerPort), Protocol: corev1.ProtocolTCP}}
}

// mutateConfigSecret sets the rendered config.
func mutateConfigSecret(sec *corev1.Secret, def *v1alpha1.BackupDefinition, config []byte, token string) {
	sec.Labels = runnerLabels(def.Namespace, def.Name)
	definitionAnnotation(sec, def.Namespace, def.Name)
	sec.Type = corev1.SecretTypeOpaque
	sec.Data = map[string][]byte{configKey: config, tokenKey: []byte(token)}
}
