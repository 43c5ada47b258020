package kubectlcoffer_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// The listing fixture: namespaces plugin-a (definitions shop and ci) and
// plugin-b (shop), their Backups in every phase and pin state, the storage
// and shop's runner, all with times relative to now.
const nsA, nsB = "plugin-a", "plugin-b"

var fixtureOnce sync.Once

func fixture(t *testing.T) *testutil.Envtest {
	t.Helper()
	e := testutil.SharedEnvtest(t)
	fixtureOnce.Do(func() { makeFixture(t, e.Client) })
	if t.Failed() {
		t.FailNow()
	}
	return e
}

type backupFixture struct {
	ns, name, def string
	phase         v1alpha1.BackupPhase
	start, took   time.Duration
	labels        []string
	pinned        bool
	pinLater      bool // spec.pinned set after creation: generation 2, not forwarded yet
	err           string
	targets       []v1alpha1.BackupTargetStatus
}

var shopTargets = []v1alpha1.BackupTargetStatus{
	{Name: "main", Engine: "postgres", SizeBytes: 1_572_864, SHA256: "9f2c4e0b7a1d3c5e8f6a2b4d6c8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e",
		ServerVersion: "15.8", ToolVersion: "pg_dump (PostgreSQL) 17.2"},
	{Name: "cache", Engine: "redis", SizeBytes: 73_728, SHA256: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"},
}

var backupFixtures = []backupFixture{
	{ns: nsA, name: "shop-20261121t110000z-aaaa", def: "shop", phase: v1alpha1.BackupCompleted, start: -time.Hour, took: 42 * time.Second,
		labels: []string{"hourly", "daily"}, targets: shopTargets},
	{ns: nsA, name: "shop-20261121t100000z-bbbb", def: "shop", phase: v1alpha1.BackupCompleted, start: -2 * time.Hour, took: 40 * time.Second,
		labels: []string{"hourly", "pinned"}, pinned: true, targets: shopTargets},
	{ns: nsA, name: "shop-20261120t100000z-cccc", def: "shop", phase: v1alpha1.BackupCompleted, start: -26 * time.Hour, took: 39 * time.Second,
		labels: []string{"daily"}, pinLater: true, targets: shopTargets},
	{ns: nsA, name: "shop-ondemand-failed", def: "shop", phase: v1alpha1.BackupFailed, start: -30 * time.Minute, took: 3 * time.Second,
		err: "target main: pg_dump: connection to server at \"db\" (10.0.0.5), port 5432 failed: Connection refused"},
	{ns: nsA, name: "shop-ondemand-running", def: "shop", phase: v1alpha1.BackupRunning, start: -2 * time.Minute},
	{ns: nsA, name: "ci-20261121t113000z-dddd", def: "ci", phase: v1alpha1.BackupCompleted, start: -30 * time.Minute, took: 5 * time.Second,
		labels: []string{"manual"}, targets: shopTargets[:1]},
	{ns: nsB, name: "shop-20261121t090000z-eeee", def: "shop", phase: v1alpha1.BackupCompleted, start: -3 * time.Hour, took: 41 * time.Second,
		labels: []string{"hourly", "daily", "weekly"}, targets: shopTargets},
}

func makeFixture(t *testing.T, c client.Client) {
	ctx := context.Background()
	namespace(t, testutil.SharedEnvtest(t), nsA)
	namespace(t, testutil.SharedEnvtest(t), nsB)
	namespace(t, testutil.SharedEnvtest(t), operatorNS)
	storage := &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: "main"},
		Spec: v1alpha1.BackupStorageSpec{S3: &v1alpha1.S3Storage{Bucket: "backups", Prefix: "prod", Endpoint: "http://minio:9000"},
			Encryption: &v1alpha1.Encryption{Recipients: []string{"age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"}}}}
	if err := c.Create(ctx, storage); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	shop := definition(nsA, "shop")
	create(t, c, shop)
	shop.Status = v1alpha1.BackupDefinitionStatus{LastBackupTime: mt(-time.Hour), NextBackupTime: mt(time.Hour),
		Coverage: &v1alpha1.DefinitionCoverage{CoveredPVCs: 3, ProtectedPVCs: 2},
		Conditions: []metav1.Condition{
			{Type: controller.ConditionReady, Status: metav1.ConditionTrue, Reason: controller.ReasonRendered, Message: "runner rendered", LastTransitionTime: *mt(-48 * time.Hour), ObservedGeneration: 1},
			{Type: controller.ConditionRunnerReachable, Status: metav1.ConditionTrue, Reason: controller.ReasonReachable, Message: "4 backups in the catalog", LastTransitionTime: *mt(-47 * time.Hour), ObservedGeneration: 1},
		}}
	setStatus(t, c, shop)
	ci := definition(nsA, "ci")
	ci.Spec.Suspend = true
	ci.Spec.Schedule = ""
	create(t, c, ci)
	ci.Status.Conditions = []metav1.Condition{{Type: controller.ConditionReady, Status: metav1.ConditionFalse, Reason: controller.ReasonSecretMissing,
		Message: "Secret plugin-a/ci-db (key password) does not exist", LastTransitionTime: *mt(-10 * time.Minute), ObservedGeneration: 1}}
	setStatus(t, c, ci)
	create(t, c, definition(nsB, "shop"))
	for _, f := range backupFixtures {
		makeBackup(t, c, f)
	}
	makeRunner(t, c, nsA, "shop")
}

func makeBackup(t *testing.T, c client.Client, f backupFixture) {
	ctx := context.Background()
	b := &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: f.name},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: f.def}, Pinned: f.pinned}}
	create(t, c, b)
	if f.pinLater {
		before := b.DeepCopy()
		b.Spec.Pinned = true
		if err := c.Patch(ctx, b, client.MergeFrom(before)); err != nil {
			t.Fatal(err)
		}
	}
	b.Status = v1alpha1.BackupStatus{Phase: f.phase, StartTime: mt(f.start), Labels: f.labels, Error: f.err, Targets: f.targets}
	b.Status.BackupID = backupID(f)
	if f.phase.Final() {
		b.Status.EndTime = mt(f.start + f.took)
	}
	if len(f.targets) > 0 {
		b.Status.Size = "1.6 MiB"
		b.Status.StartSkew = "2.1ms"
	}
	if f.phase == v1alpha1.BackupCompleted && f.ns == nsA && f.def == "shop" {
		b.Status.Offsite = "Copied"
	}
	setStatus(t, c, b)
}

// backupID is the runner's id in a mirrored Backup's name, or one made
// from the start time for an on-demand Backup.
func backupID(f backupFixture) string {
	if _, id, ok := strings.Cut(f.name, "-"); ok && len(id) == len("20261121t110000z-aaaa") {
		return strings.ToUpper(id[:16]) + id[16:]
	}
	return now.Add(f.start).Format("20060102T150405Z") + "-zzzz"
}

// makeRunner creates the runner StatefulSet and pod as the controller and
// the kubelet would have, with their status.
func makeRunner(t *testing.T, c client.Client, ns, def string) {
	name := controller.RunnerName(ns, def)
	labels := map[string]string{"app.kubernetes.io/component": "runner", "coffer.dev/definition-name": def}
	podSpec := corev1.PodSpec{Containers: []corev1.Container{{Name: "runner", Image: "coffer-runner:test"}}}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: name},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec}}}
	create(t, c, sts)
	sts.Status = appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1}
	setStatus(t, c, sts)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: name + "-0", Labels: labels}, Spec: podSpec}
	create(t, c, pod)
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}, ContainerStatuses: []corev1.ContainerStatus{{Name: "runner", Ready: true, RestartCount: 2,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}
	setStatus(t, c, pod)
}
