package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestDefinitionDeletion: deleting a definition deletes its mirrored
// Backups (not the ones a user created); Backups and Restores waiting on it
// fail with the reason, and a Restore created afterwards fails at once.
func TestDefinitionDeletion(t *testing.T) {
	e := cluster(t)
	ctx := context.Background()
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, true)
	d := definition(t, e, ns, "shop", st)
	testutil.Eventually(t, 60*time.Second, "runner objects", func() bool { a, b, c := runnerObjectsExist(t, e, ns, "shop"); return a && b && c })

	mirrored := &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-20261121t103000z-k3f9",
		Labels: map[string]string{controller.LabelMirrored: "true", controller.LabelDefinition: "shop"}},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "shop"}}}
	mustCreate(t, e, mirrored)
	mine := &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mine"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "shop"}}}
	mustCreate(t, e, mine)
	mustCreate(t, e, latestOf(ns, "waiting", "shop"))
	// The runner is down: both wait for it.
	testutil.Eventually(t, 60*time.Second, "the Backup and Restore to wait for the runner", func() bool {
		return backupOf(t, e, ns, "mine").Status.Phase == v1alpha1.BackupPending && restoreOf(t, e, ns, "waiting").Status.Phase == v1alpha1.RestorePending
	})

	if err := e.Client.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, "the definition gone", func() bool {
		return apierrors.IsNotFound(e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "shop"}, &v1alpha1.BackupDefinition{}))
	})
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: mirrored.Name}, &v1alpha1.Backup{}); !apierrors.IsNotFound(err) {
		t.Errorf("mirrored Backup after its definition was deleted: %v, want deleted", err)
	}
	testutil.Eventually(t, 60*time.Second, "the waiting Backup and Restore Failed", func() bool {
		return backupOf(t, e, ns, "mine").Status.Phase == v1alpha1.BackupFailed && restoreOf(t, e, ns, "waiting").Status.Phase == v1alpha1.RestoreFailed
	})
	for what, msg := range map[string]string{"Backup": backupOf(t, e, ns, "mine").Status.Error, "Restore": restoreOf(t, e, ns, "waiting").Status.Error} {
		if !strings.Contains(msg, `BackupDefinition "shop"`) || !strings.Contains(msg, "stay in storage") {
			t.Errorf("%s error %q does not say the definition is gone and the data stays", what, msg)
		}
	}

	mustCreate(t, e, latestOf(ns, "after", "shop"))
	mustCreate(t, e, &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "by-ref"},
		Spec: v1alpha1.RestoreSpec{BackupRef: &v1alpha1.LocalObjectReference{Name: mirrored.Name}}})
	within(t, 10*time.Second, "new Restores Failed at once", func() bool {
		return restoreOf(t, e, ns, "after").Status.Phase == v1alpha1.RestoreFailed && restoreOf(t, e, ns, "by-ref").Status.Phase == v1alpha1.RestoreFailed
	})
	if msg := restoreOf(t, e, ns, "after").Status.Error; !strings.Contains(msg, `BackupDefinition "shop" does not exist`) {
		t.Errorf("Restore of a deleted definition: %q", msg)
	}
	if msg := restoreOf(t, e, ns, "by-ref").Status.Error; !strings.Contains(msg, "does not exist") {
		t.Errorf("Restore of a deleted definition's mirrored Backup: %q", msg)
	}
}

// TestBackupWaitsForItsDefinition: a Backup applied a moment before its
// definition (kustomize sorts Backup first) waits for it instead of failing.
func TestBackupWaitsForItsDefinition(t *testing.T) {
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, true)
	mustCreate(t, e, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "early"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "shop"}}})
	testutil.Eventually(t, 60*time.Second, "the Backup waiting for its definition", func() bool {
		c := meta.FindStatusCondition(backupOf(t, e, ns, "early").Status.Conditions, controller.ConditionForwarded)
		return c != nil && c.Reason == controller.ReasonDefinitionNotFound
	})
	definition(t, e, ns, "shop", st)
	testutil.Eventually(t, 60*time.Second, "the Backup forwarded to the (down) runner", func() bool {
		b := backupOf(t, e, ns, "early")
		c := meta.FindStatusCondition(b.Status.Conditions, controller.ConditionForwarded)
		return c != nil && c.Reason != controller.ReasonDefinitionNotFound && b.Status.Phase == v1alpha1.BackupPending
	})
}

func latestOf(ns, name, def string) *v1alpha1.Restore {
	return &v1alpha1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.RestoreSpec{LatestOf: &v1alpha1.LocalObjectReference{Name: def}}}
}

func backupOf(t *testing.T, e *testutil.Envtest, ns, name string) *v1alpha1.Backup {
	t.Helper()
	b := &v1alpha1.Backup{}
	if err := e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func restoreOf(t *testing.T, e *testutil.Envtest, ns, name string) *v1alpha1.Restore {
	t.Helper()
	r := &v1alpha1.Restore{}
	if err := e.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// within is eventually with a tighter bound.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not within %v: %s", d, what)
}
