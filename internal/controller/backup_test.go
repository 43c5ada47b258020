package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

const runnerBackupID = "20261121T103000Z-k3f9"

// backupFixture builds the Backup a case starts from: a user's on-demand
// Backup of the fixture's definition, created a minute before t0.
func backupFixture(mutate ...func(*v1alpha1.Backup)) *v1alpha1.Backup {
	b := &v1alpha1.Backup{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "now", Generation: 1, CreationTimestamp: metav1.NewTime(t0.Add(-time.Minute))},
		Spec:       v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: testDefinition}},
	}
	for _, m := range mutate {
		m(b)
	}
	return b
}

// taken is a Backup the runner has taken and runs.
func taken(b *v1alpha1.Backup) {
	b.Status.Phase, b.Status.BackupID = v1alpha1.BackupRunning, runnerBackupID
}

// TestBackupReconcilerAgainstRunner: an on-demand Backup is forwarded to
// the runner and followed to the end, whatever the runner answers.
func TestBackupReconcilerAgainstRunner(t *testing.T) {
	for name, tc := range backupCases() {
		t.Run(name, tc.run)
	}
}

// backupCase is one Backup, one runner and what the reconciler makes of
// them.
type backupCase struct {
	backup *v1alpha1.Backup
	runner *scriptedRunner
	// down: nothing answers at the runner's address.
	down bool
	// reconciles run with the clock advanced by advance between them.
	reconciles int
	advance    time.Duration

	wantPhase   v1alpha1.BackupPhase
	wantRequeue time.Duration
	wantConds   map[string]string
	wantError   string
	wantCalls   []string
	check       func(*testing.T, *v1alpha1.Backup)
}

func backupCases() map[string]backupCase {
	return map[string]backupCase{
		"runner accepted": {
			backup: backupFixture(func(b *v1alpha1.Backup) { b.Spec.Pinned = true }),
			runner: &scriptedRunner{trigger: func(req runnerapi.BackupRequest) (runnerapi.Backup, error) {
				if !req.Pinned {
					return runnerapi.Backup{}, fmt.Errorf("%w: want pinned", runnerapi.ErrInvalid)
				}
				return runnerapi.Backup{ID: runnerBackupID, Status: phase.Running, StartTime: t0}, nil
			}},
			wantPhase: v1alpha1.BackupRunning, wantRequeue: pollInterval, wantCalls: []string{"TriggerBackup"},
			wantConds: map[string]string{ConditionForwarded: ReasonAccepted, ConditionRunnerReachable: ReasonAnswered, ConditionPinForwarded: ReasonPinned},
			check: func(t *testing.T, b *v1alpha1.Backup) {
				if b.Status.BackupID != runnerBackupID || b.Status.StartTime == nil || b.Labels[LabelDefinition] != testDefinition {
					t.Errorf("status %+v, labels %v", b.Status, b.Labels)
				}
			},
		},
		"runner busy (409): Pending, asked again": {
			backup: backupFixture(),
			runner: &scriptedRunner{trigger: func(runnerapi.BackupRequest) (runnerapi.Backup, error) {
				return runnerapi.Backup{}, fmt.Errorf("%w: backup %s is running", runnerapi.ErrBusy, runnerBackupID)
			}},
			wantPhase: v1alpha1.BackupPending, wantRequeue: busyRetry, wantCalls: []string{"TriggerBackup"},
			wantConds: map[string]string{ConditionForwarded: ReasonRunnerBusy, ConditionRunnerReachable: ReasonAnswered},
		},
		"unknown backup (404): Failed with the reason": {
			backup: backupFixture(taken),
			runner: &scriptedRunner{backup: func(id string) (runnerapi.Backup, error) {
				return runnerapi.Backup{}, fmt.Errorf("%w: backup %s", runnerapi.ErrNotFound, id)
			}},
			wantPhase: v1alpha1.BackupFailed, wantCalls: []string{"Backup"}, wantError: "the runner has no record of backup " + runnerBackupID,
			wantConds: map[string]string{ConditionRunnerReachable: ReasonAnswered},
		},
		"Completed mirrored": {
			backup: backupFixture(taken),
			runner: &scriptedRunner{backup: func(id string) (runnerapi.Backup, error) {
				return runnerapi.Backup{ID: id, Status: phase.Completed, StartTime: t0, EndTime: t0.Add(time.Minute), Labels: []string{"manual"},
					Targets: []runnerapi.BackupTarget{{Name: "main", Engine: "postgres", Size: 2048, SHA256: "ab"}}}, nil
			}},
			wantPhase: v1alpha1.BackupCompleted, wantCalls: []string{"Backup"},
			wantConds: map[string]string{ConditionRunnerReachable: ReasonAnswered},
			check: func(t *testing.T, b *v1alpha1.Backup) {
				if len(b.Status.Targets) != 1 || b.Status.Targets[0].SizeBytes != 2048 || b.Status.EndTime == nil ||
					len(b.Status.Labels) != 1 || b.Status.Size == "" {
					t.Errorf("status %+v", b.Status)
				}
			},
		},
		"runner unreachable: Pending, tried again": {
			backup: backupFixture(), down: true,
			wantPhase: v1alpha1.BackupPending, wantRequeue: unreachableRetry,
			wantConds: map[string]string{ConditionForwarded: ReasonUnreachable, ConditionRunnerReachable: ReasonUnreachable},
		},
		"runner unreachable past the deadline: Failed": {
			backup: backupFixture(), down: true, reconciles: 2, advance: runnerLost + time.Second,
			wantPhase: v1alpha1.BackupFailed, wantError: "the runner has not answered for",
			wantConds: map[string]string{ConditionRunnerReachable: ReasonUnreachable},
		},
		"runner gone while polling, past the deadline: Failed": {
			backup: backupFixture(taken, func(b *v1alpha1.Backup) {
				b.Status.Conditions = []metav1.Condition{unreachableSince(t0.Add(-runnerLost - time.Minute))}
			}),
			down:      true,
			wantPhase: v1alpha1.BackupFailed, wantError: "may still have been committed",
		},
		"definition deleted while it ran: Failed": {
			backup:    backupFixture(taken, func(b *v1alpha1.Backup) { b.Spec.DefinitionRef.Name = "gone" }),
			runner:    &scriptedRunner{},
			wantPhase: v1alpha1.BackupFailed, wantError: `BackupDefinition "gone" does not exist`,
		},
		"a changed pin is forwarded": {
			backup: backupFixture(func(b *v1alpha1.Backup) {
				b.Generation, b.Spec.Pinned = 2, true
				b.Status = v1alpha1.BackupStatus{Phase: v1alpha1.BackupCompleted, BackupID: runnerBackupID, EndTime: &metav1.Time{Time: t0}}
			}),
			runner: &scriptedRunner{setLabel: func(id, label string, set bool) (runnerapi.Backup, error) {
				return runnerapi.Backup{ID: id, Status: phase.Completed, Labels: []string{label}}, nil
			}},
			wantPhase: v1alpha1.BackupCompleted, wantCalls: []string{"SetLabel"},
			wantConds: map[string]string{ConditionPinForwarded: ReasonPinned},
			check: func(t *testing.T, b *v1alpha1.Backup) {
				if len(b.Status.Labels) != 1 || b.Status.Labels[0] != "pinned" {
					t.Errorf("labels %v", b.Status.Labels)
				}
			},
		},
	}
}

func (tc backupCase) run(t *testing.T) {
	var svc runnerapi.Service
	if !tc.down {
		svc = tc.runner
	}
	f := newFixture(t, svc, tc.backup)
	r := &BackupReconciler{Client: f.client, Runners: f.runners, Clock: f.clock}
	key := types.NamespacedName{Namespace: testNS, Name: tc.backup.Name}
	res := reconcileTimes(t, r, f, key, tc.reconciles, tc.advance)
	got := &v1alpha1.Backup{}
	if err := f.client.Get(context.Background(), key, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != tc.wantPhase || res.RequeueAfter != tc.wantRequeue {
		t.Errorf("phase %q, requeue %v; want %q, %v (error %q)", got.Status.Phase, res.RequeueAfter, tc.wantPhase, tc.wantRequeue, got.Status.Error)
	}
	checkEnd(t, got.Status.Phase.Final(), got.Status.EndTime, got.Status.Error, tc.wantError)
	checkConditions(t, got.Status.Conditions, tc.wantConds)
	if tc.runner != nil && fmt.Sprint(tc.runner.calls) != fmt.Sprint(tc.wantCalls) {
		t.Errorf("runner calls %v, want %v", tc.runner.calls, tc.wantCalls)
	}
	if tc.check != nil {
		tc.check(t, got)
	}
}

// checkEnd: the error holds want (and is empty when want is), and final
// work has an end time.
func checkEnd(t *testing.T, final bool, end *metav1.Time, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) || (want == "") != (got == "") {
		t.Errorf("error %q, want it to hold %q", got, want)
	}
	if final && end == nil {
		t.Error("final without an end time")
	}
}

// reconciler is a Backup or Restore reconciler.
type reconciler interface {
	Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
}

// reconcileTimes reconciles n times (at least once), advancing the clock
// between them, and returns the last result. Every reconcile must succeed.
func reconcileTimes(t *testing.T, r reconciler, f *fixture, key types.NamespacedName, n int, advance time.Duration) ctrl.Result {
	t.Helper()
	var res ctrl.Result
	for i := range max(n, 1) {
		if i > 0 {
			f.clock.Advance(advance)
		}
		var err error
		if res, err = r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatalf("reconcile %d: %v", i+1, err)
		}
	}
	return res
}

// TestBackupStatusWrittenOnlyWhenChanged: a reconcile that learns nothing
// new writes nothing.
func TestBackupStatusWrittenOnlyWhenChanged(t *testing.T) {
	b := backupFixture(func(b *v1alpha1.Backup) {
		b.Labels = map[string]string{LabelMirrored: "true", LabelDefinition: testDefinition}
		b.Status = v1alpha1.BackupStatus{Phase: v1alpha1.BackupCompleted, BackupID: runnerBackupID}
	})
	runner := &scriptedRunner{}
	f := newFixture(t, runner, b)
	key := types.NamespacedName{Namespace: testNS, Name: b.Name}
	before := &v1alpha1.Backup{}
	if err := f.client.Get(context.Background(), key, before); err != nil {
		t.Fatal(err)
	}
	r := &BackupReconciler{Client: f.client, Runners: f.runners, Clock: f.clock}
	reconcileTimes(t, r, f, key, 2, time.Minute)
	after := &v1alpha1.Backup{}
	if err := f.client.Get(context.Background(), key, after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion || len(runner.calls) != 0 {
		t.Errorf("resourceVersion %s → %s, runner calls %v", before.ResourceVersion, after.ResourceVersion, runner.calls)
	}
}

// staleCache answers Gets of Backups with an old copy, as an informer
// that has not seen the reconciler's own last write yet.
type staleCache struct {
	client.Client
	stale *v1alpha1.Backup
}

func (s staleCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if b, ok := obj.(*v1alpha1.Backup); ok {
		s.stale.DeepCopyInto(b)
		return nil
	}
	return s.Client.Get(ctx, key, obj, opts...)
}

// TestBackupNotForwardedTwiceFromAStaleCache: a reconcile whose cache has
// not seen the backup id yet reads the Backup afresh and follows the
// backup, instead of asking the runner again (it answered busy, and the
// Backup said Forwarded=False RunnerBusy while its backup ran).
func TestBackupNotForwardedTwiceFromAStaleCache(t *testing.T) {
	stored := backupFixture(taken, func(b *v1alpha1.Backup) {
		b.Status.Conditions = []metav1.Condition{{Type: ConditionForwarded, Status: metav1.ConditionTrue, Reason: ReasonAccepted,
			Message: "runner started backup " + runnerBackupID, LastTransitionTime: metav1.NewTime(t0)}}
	})
	runner := &scriptedRunner{
		trigger: func(runnerapi.BackupRequest) (runnerapi.Backup, error) {
			return runnerapi.Backup{}, fmt.Errorf("%w: backup %s is running", runnerapi.ErrBusy, runnerBackupID)
		},
		backup: func(id string) (runnerapi.Backup, error) {
			return runnerapi.Backup{ID: id, Status: phase.Running, StartTime: t0}, nil
		},
	}
	f := newFixture(t, runner, stored)
	r := &BackupReconciler{Client: staleCache{Client: f.client, stale: backupFixture()}, Reader: f.client, Runners: f.runners, Clock: f.clock}
	key := types.NamespacedName{Namespace: testNS, Name: stored.Name}
	reconcileTimes(t, r, f, key, 1, 0)
	got := &v1alpha1.Backup{}
	if err := f.client.Get(context.Background(), key, got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(runner.calls) != "[Backup]" {
		t.Errorf("runner calls %v, want only [Backup]: the backup was forwarded again", runner.calls)
	}
	if got.Status.BackupID != runnerBackupID || got.Status.Phase != v1alpha1.BackupRunning {
		t.Errorf("status %+v", got.Status)
	}
	checkConditions(t, got.Status.Conditions, map[string]string{ConditionForwarded: ReasonAccepted})
}
