package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// TestMirrorOnDemandAndFailures: an on-demand backup in flight is left to
// its Backup (whose id the cache may not show yet), a mirrored copy of a
// backup a user's Backup claims is removed, and a scheduled backup seen
// failing is a BackupFailed Event on the definition.
func TestMirrorOnDemandAndFailures(t *testing.T) {
	const running, claimed, failed = "20261121T103000Z-aaaa", "20261121T100000Z-bbbb", "20261121T102000Z-cccc"
	mine := backupFixture(func(b *v1alpha1.Backup) {
		b.Labels = map[string]string{LabelDefinition: testDefinition}
		b.Status = v1alpha1.BackupStatus{Phase: v1alpha1.BackupCompleted, BackupID: claimed, EndTime: &metav1.Time{Time: t0}}
	})
	dup := &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: mirroredBackupName(testDefinition, claimed),
		Labels: map[string]string{LabelMirrored: "true", LabelDefinition: testDefinition}}}
	f := newFixture(t, nil, mine, dup)
	// The fake client does not keep status on Create: set the duplicate's id.
	dup.Status = v1alpha1.BackupStatus{Phase: v1alpha1.BackupCompleted, BackupID: claimed}
	if err := f.client.Status().Update(context.Background(), dup); err != nil {
		t.Fatal(err)
	}
	def := &v1alpha1.BackupDefinition{}
	if err := f.client.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: testDefinition}, def); err != nil {
		t.Fatal(err)
	}
	rec := events.NewFakeRecorder(10)
	r := &DefinitionReconciler{Client: f.client, Reader: f.client, Clock: f.clock, Events: rec}
	manual := string(manifest.TriggerManual)
	items := []runnerapi.Backup{
		{ID: running, Status: phase.Running, Trigger: manual, StartTime: t0},
		{ID: claimed, Status: phase.Completed, Trigger: manual, StartTime: t0.Add(-30 * time.Minute), EndTime: t0},
		{ID: failed, Status: phase.Failed, StartTime: t0.Add(-10 * time.Minute), EndTime: t0.Add(-9 * time.Minute), Error: "pg_dump: connection refused"},
	}
	if err := r.mirror(context.Background(), def, items); err != nil {
		t.Fatal(err)
	}
	var list v1alpha1.BackupList
	if err := f.client.List(context.Background(), &list, client.InNamespace(testNS)); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, b := range list.Items {
		names[b.Name] = true
	}
	if names[mirroredBackupName(testDefinition, running)] || names[dup.Name] || !names[mine.Name] || !names[mirroredBackupName(testDefinition, failed)] || len(names) != 2 {
		t.Errorf("Backup objects %v: want %s and the failed backup's mirror only", names, mine.Name)
	}
	select {
	case ev := <-rec.Events:
		if !strings.Contains(ev, ReasonBackupFailed) || !strings.Contains(ev, failed) || !strings.Contains(ev, "connection refused") {
			t.Errorf("event %q", ev)
		}
	default:
		t.Error("no BackupFailed Event for the failed scheduled backup")
	}
}
