package controller_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/coverage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// coveringDefinition is an hourly postgres definition whose target covers
// the claims labelled app=pg.
func coveringDefinition(ns, name, storageName string) *v1alpha1.BackupDefinition {
	return &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: storageName}, Schedule: "0 * * * *",
			Targets: []v1alpha1.Target{{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "db", Database: "shop", User: "app"},
				Covers: &v1alpha1.Covers{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pg"}}}}}}}
}

// TestCoverageLifecycle follows claims through the path against a
// real API server: the controller's JSON report, the Events on the claims,
// the definition's status and the metrics Prometheus scrapes.
func TestCoverageLifecycle(t *testing.T) {
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, true)
	pvc(t, e, ns, "data", map[string]string{"app": "pg"})
	pvc(t, e, ns, "cache", nil)

	waitState(t, ns, "data", coverage.Unprotected, "no BackupDefinition backs it up or covers it")
	waitEvent(t, e, ns, "data", "Unprotected", corev1.EventTypeWarning, "no BackupDefinition")
	waitMetric(t, fmt.Sprintf(`coffer_pvc_coverage_state{namespace=%q,persistentvolumeclaim="data",state="unprotected"} 1`, ns))

	mustCreate(t, e, coveringDefinition(ns, "shop", st))
	runnerRunning(t, e, ns, "shop")
	waitState(t, ns, "data", coverage.Stale, "shop: no Completed backup yet")
	waitEvent(t, e, ns, "data", "Stale", corev1.EventTypeWarning, "no Completed backup yet")

	start := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	b := completedBackup(t, e, ns, "shop", "shop-1", start)
	waitState(t, ns, "data", coverage.Protected, "protected by shop: newest Completed backup started")
	waitEvent(t, e, ns, "data", "Protected", corev1.EventTypeNormal, "protected by shop")
	testutil.Eventually(t, 60*time.Second, "status.coverage of the definition", func() bool {
		d := &v1alpha1.BackupDefinition{}
		e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "shop"}, d)
		return d.Status.Coverage != nil && *d.Status.Coverage == v1alpha1.DefinitionCoverage{CoveredPVCs: 1, ProtectedPVCs: 1}
	})
	def := fmt.Sprintf(`{definition="shop",namespace=%q}`, ns)
	waitMetric(t, fmt.Sprintf(`coffer_pvc_coverage_state{namespace=%q,persistentvolumeclaim="data",state="protected"} 1`, ns))
	waitMetric(t, "coffer_definition_protected_pvcs"+def+" 1")
	waitMetric(t, "coffer_definition_last_success_timestamp_seconds"+def+" "+strconv.FormatFloat(float64(start.Unix()), 'g', -1, 64))
	waitMetric(t, "coffer_definition_stale"+def+" 0")

	// Backups stop: the newest started six hours ago.
	setBackupStatus(t, e, b, v1alpha1.BackupCompleted, time.Now().Add(-6*time.Hour))
	waitState(t, ns, "data", coverage.Stale, "stale since")
	waitEvent(t, e, ns, "data", "Stale", corev1.EventTypeWarning, "stale since")
	waitMetric(t, "coffer_definition_stale"+def+" 1")
	waitMetric(t, "coffer_definition_protected_pvcs"+def+" 0")

	// A newer backup fails (mirrored: a Backup a user creates would be the
	// Backup reconciler's to follow).
	failed := mirroredBackup(t, e, ns, "shop", "shop-2")
	orig := failed.DeepCopy()
	failed.Status = v1alpha1.BackupStatus{Phase: v1alpha1.BackupFailed, Error: "pg_dump exited 1", StartTime: &metav1.Time{Time: time.Now()}}
	if err := e.Client.Status().Patch(context.Background(), failed, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	waitState(t, ns, "data", coverage.Stale, "its newest backup failed: pg_dump exited 1")
	waitMetric(t, "coffer_definition_failing"+def+" 1")

	// The owner of the other claim says it needs no backup.
	waitState(t, ns, "cache", coverage.Unprotected, "")
	annotate(t, e, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cache"}},
		map[string]string{coverage.AnnotationBackup: "skip", coverage.AnnotationReason: "cache, rebuilt from S3"})
	waitState(t, ns, "cache", coverage.Excluded, "skipped by its owner: cache, rebuilt from S3")
	waitEvent(t, e, ns, "cache", "Excluded", corev1.EventTypeNormal, "cache, rebuilt from S3")
	waitMetric(t, fmt.Sprintf(`coffer_pvc_coverage_state{namespace=%q,persistentvolumeclaim="cache",state="excluded"} 1`, ns))

	// A deleted claim leaves the report and the metrics (once gone: no
	// controller removes the pvc-protection finalizer here, so the test does).
	cache := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cache"}}
	if err := e.Client.Delete(context.Background(), cache); err != nil {
		t.Fatal(err)
	}
	if err := e.Client.Patch(context.Background(), cache, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "cache gone from the report", func() bool { return claimReport(t, ns, "cache").Name == "" })
}

// TestCoverageNamespaceNotAdmitted: a filesystem target backs up a claim,
// but the storage does not admit the namespace until it is labelled.
func TestCoverageNamespaceNotAdmitted(t *testing.T) {
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, false)
	pvc(t, e, ns, "files", nil)
	mustCreate(t, e, &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vol"},
		Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: st}, Schedule: "0 3 * * *",
			Targets: []v1alpha1.Target{{Name: "files", Filesystem: &v1alpha1.FilesystemTarget{Path: "/data", PersistentVolumeClaim: "files"}}}}})
	waitState(t, ns, "files", coverage.Unprotected, "vol cannot back it up: BackupStorage coffer-system/"+st+" does not admit namespace "+ns)

	n := &corev1.Namespace{}
	if err := e.Client.Get(context.Background(), client.ObjectKey{Name: ns}, n); err != nil {
		t.Fatal(err)
	}
	n.Labels["backups"] = "allowed"
	if err := e.Client.Update(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	runnerRunning(t, e, ns, "vol")
	waitState(t, ns, "files", coverage.Stale, "vol: no Completed backup yet")
}
