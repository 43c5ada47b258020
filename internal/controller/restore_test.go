package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

const runnerRestoreID = "20261121T104000Z-r3st"

// restoreFixture builds the Restore a case starts from: the latest backup
// of the fixture's definition.
func restoreFixture(mutate ...func(*v1alpha1.Restore)) *v1alpha1.Restore {
	rs := &v1alpha1.Restore{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "back", Generation: 1},
		Spec:       v1alpha1.RestoreSpec{LatestOf: &v1alpha1.LocalObjectReference{Name: testDefinition}, Target: "main"},
	}
	for _, m := range mutate {
		m(rs)
	}
	return rs
}

// restoring is a Restore the runner has started.
func restoring(rs *v1alpha1.Restore) {
	rs.Status.Phase, rs.Status.RunnerRestoreID = v1alpha1.RestoreRunning, runnerRestoreID
}

// fromBackup restores the Backup "nightly" instead of the latest.
func fromBackup(rs *v1alpha1.Restore) {
	rs.Spec.LatestOf, rs.Spec.BackupRef = nil, &v1alpha1.LocalObjectReference{Name: "nightly"}
}

// nightly is a Backup of the definition in phase p.
func nightly(p v1alpha1.BackupPhase) *v1alpha1.Backup {
	return &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "nightly"},
		Spec:   v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: testDefinition}},
		Status: v1alpha1.BackupStatus{Phase: p, BackupID: runnerBackupID}}
}

// TestRestoreReconcilerAgainstRunner: a Restore is forwarded to the runner
// and followed to the end, whatever the runner answers.
func TestRestoreReconcilerAgainstRunner(t *testing.T) {
	for name, tc := range restoreCases() {
		t.Run(name, tc.run)
	}
}

// restoreCase is one Restore, one runner and what the reconciler makes of
// them.
type restoreCase struct {
	restore *v1alpha1.Restore
	others  []client.Object
	runner  *scriptedRunner
	// down: nothing answers at the runner's address.
	down bool
	// reconciles run with the clock advanced by advance between them.
	reconciles int
	advance    time.Duration

	wantPhase   v1alpha1.RestorePhase
	wantRequeue time.Duration
	wantConds   map[string]string
	wantError   string
	wantCalls   []string
	// wantBackupID is the backup id the runner was asked for.
	wantBackupID string
}

// acceptRestore is a runner that starts the restore.
func acceptRestore(runnerapi.RestoreRequest) (runnerapi.Restore, error) {
	return runnerapi.Restore{ID: runnerRestoreID, BackupID: runnerBackupID, Status: phase.Running, StartTime: t0}, nil
}

func restoreCases() map[string]restoreCase {
	return map[string]restoreCase{
		"runner accepted": {
			restore: restoreFixture(), runner: &scriptedRunner{startRestore: acceptRestore},
			wantPhase: v1alpha1.RestoreRunning, wantRequeue: pollInterval, wantCalls: []string{"StartRestore"}, wantBackupID: runnerapi.Latest,
			wantConds: map[string]string{ConditionForwarded: ReasonAccepted, ConditionRunnerReachable: ReasonAnswered},
		},
		"a Completed Backup's id is asked for": {
			restore: restoreFixture(fromBackup), others: []client.Object{nightly(v1alpha1.BackupCompleted)},
			runner:    &scriptedRunner{startRestore: acceptRestore},
			wantPhase: v1alpha1.RestoreRunning, wantRequeue: pollInterval, wantCalls: []string{"StartRestore"}, wantBackupID: runnerBackupID,
		},
		"a Backup not Completed cannot be restored": {
			restore: restoreFixture(fromBackup), others: []client.Object{nightly(v1alpha1.BackupFailed)},
			runner:    &scriptedRunner{},
			wantPhase: v1alpha1.RestoreFailed, wantError: `Backup "nightly" is Failed, not Completed`,
		},
		"invalid restore (400): Failed at once": {
			restore: restoreFixture(),
			runner: &scriptedRunner{startRestore: func(runnerapi.RestoreRequest) (runnerapi.Restore, error) {
				return runnerapi.Restore{}, fmt.Errorf("%w: backup has no target %q", runnerapi.ErrInvalid, "main")
			}},
			wantPhase: v1alpha1.RestoreFailed, wantCalls: []string{"StartRestore"}, wantBackupID: runnerapi.Latest,
			wantError: `the runner refused the request: invalid request: backup has no target "main"`,
		},
		"runner busy (409): Pending, asked again": {
			restore: restoreFixture(),
			runner: &scriptedRunner{startRestore: func(runnerapi.RestoreRequest) (runnerapi.Restore, error) {
				return runnerapi.Restore{}, runnerapi.ErrBusy
			}},
			wantPhase: v1alpha1.RestorePending, wantRequeue: busyRetry, wantCalls: []string{"StartRestore"}, wantBackupID: runnerapi.Latest,
			wantConds: map[string]string{ConditionForwarded: ReasonRunnerBusy, ConditionRunnerReachable: ReasonAnswered},
		},
		"unknown restore (404): Failed with the reason": {
			restore: restoreFixture(restoring),
			runner: &scriptedRunner{restore: func(id string) (runnerapi.Restore, error) {
				return runnerapi.Restore{}, fmt.Errorf("%w: restore %s", runnerapi.ErrNotFound, id)
			}},
			wantPhase: v1alpha1.RestoreFailed, wantCalls: []string{"Restore"}, wantError: "the runner has no record of restore " + runnerRestoreID,
		},
		"Completed mirrored": {
			restore: restoreFixture(restoring),
			runner: &scriptedRunner{restore: func(id string) (runnerapi.Restore, error) {
				return runnerapi.Restore{ID: id, BackupID: runnerBackupID, Status: phase.Completed, StartTime: t0, EndTime: t0.Add(time.Minute)}, nil
			}},
			wantPhase: v1alpha1.RestoreCompleted, wantCalls: []string{"Restore"},
			wantConds: map[string]string{ConditionRunnerReachable: ReasonAnswered},
		},
		"Failed mirrored": {
			restore: restoreFixture(restoring),
			runner: &scriptedRunner{restore: func(id string) (runnerapi.Restore, error) {
				return runnerapi.Restore{ID: id, BackupID: runnerBackupID, Status: phase.Failed, StartTime: t0, EndTime: t0.Add(time.Minute),
					Error: "pg_restore exited 1"}, nil
			}},
			wantPhase: v1alpha1.RestoreFailed, wantCalls: []string{"Restore"}, wantError: "pg_restore exited 1",
		},
		"runner unreachable: Pending, tried again": {
			restore: restoreFixture(), down: true,
			wantPhase: v1alpha1.RestorePending, wantRequeue: unreachableRetry,
			wantConds: map[string]string{ConditionForwarded: ReasonUnreachable, ConditionRunnerReachable: ReasonUnreachable},
		},
		"runner unreachable past the deadline: Failed": {
			restore: restoreFixture(), down: true, reconciles: 2, advance: runnerLost + time.Second,
			wantPhase: v1alpha1.RestoreFailed, wantError: "the restore was never started",
		},
		"runner gone while restoring, past the deadline: Failed": {
			restore: restoreFixture(restoring), down: true, reconciles: 3, advance: runnerLost/2 + time.Second,
			wantPhase: v1alpha1.RestoreFailed, wantError: "may have finished or not: check the destination",
		},
		"definition missing: Failed at once": {
			restore:   restoreFixture(func(rs *v1alpha1.Restore) { rs.Spec.LatestOf.Name = "gone" }),
			runner:    &scriptedRunner{},
			wantPhase: v1alpha1.RestoreFailed, wantError: `BackupDefinition "gone" does not exist`,
		},
	}
}

func (tc restoreCase) run(t *testing.T) {
	var svc runnerapi.Service
	if !tc.down {
		svc = tc.runner
	}
	f := newFixture(t, svc, append(tc.others, tc.restore)...)
	r := &RestoreReconciler{Client: f.client, Reader: f.client, Runners: f.runners, Clock: f.clock, OperatorNamespace: testOperatorNS}
	key := types.NamespacedName{Namespace: testNS, Name: tc.restore.Name}
	res := reconcileTimes(t, r, f, key, tc.reconciles, tc.advance)
	got := &v1alpha1.Restore{}
	if err := f.client.Get(context.Background(), key, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != tc.wantPhase || res.RequeueAfter != tc.wantRequeue {
		t.Errorf("phase %q, requeue %v; want %q, %v (error %q)", got.Status.Phase, res.RequeueAfter, tc.wantPhase, tc.wantRequeue, got.Status.Error)
	}
	checkEnd(t, got.Status.Phase.Final(), got.Status.EndTime, got.Status.Error, tc.wantError)
	checkConditions(t, got.Status.Conditions, tc.wantConds)
	if tc.runner == nil {
		return
	}
	if fmt.Sprint(tc.runner.calls) != fmt.Sprint(tc.wantCalls) {
		t.Errorf("runner calls %v, want %v", tc.runner.calls, tc.wantCalls)
	}
	if tc.wantBackupID != "" && (len(tc.runner.restoreRequests) != 1 || tc.runner.restoreRequests[0].BackupID != tc.wantBackupID ||
		tc.runner.restoreRequests[0].Target != "main") {
		t.Errorf("runner asked for %+v, want backup %s, target main", tc.runner.restoreRequests, tc.wantBackupID)
	}
}

// TestFinishedRestoreIsLeftAlone: a final Restore is neither sent nor
// written again.
func TestFinishedRestoreIsLeftAlone(t *testing.T) {
	rs := restoreFixture(restoring, func(rs *v1alpha1.Restore) { rs.Status.Phase = v1alpha1.RestoreCompleted })
	runner := &scriptedRunner{}
	f := newFixture(t, runner, rs)
	key := types.NamespacedName{Namespace: testNS, Name: rs.Name}
	before := &v1alpha1.Restore{}
	if err := f.client.Get(context.Background(), key, before); err != nil {
		t.Fatal(err)
	}
	reconcileTimes(t, &RestoreReconciler{Client: f.client, Reader: f.client, Runners: f.runners, Clock: f.clock, OperatorNamespace: testOperatorNS}, f, key, 1, 0)
	after := &v1alpha1.Restore{}
	if err := f.client.Get(context.Background(), key, after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion || len(runner.calls) != 0 {
		t.Errorf("resourceVersion %s → %s, runner calls %v", before.ResourceVersion, after.ResourceVersion, runner.calls)
	}
}
