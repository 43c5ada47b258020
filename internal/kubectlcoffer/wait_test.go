package kubectlcoffer_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/kubectlcoffer"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// The tests here play the controller: they find the object the plugin
// created and write its status through the status subresource, step by
// step, as internal/controller does.

// drive waits for the first object of list in ns (created by the plugin),
// then applies each step to it, pausing so the plugin reads every state.
func drive[T client.Object](t *testing.T, c client.Client, ns string, list client.ObjectList, items func() []T, steps ...func(T)) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var obj T
		for {
			if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
				done <- err
				return
			}
			if got := items(); len(got) > 0 {
				obj = got[0]
				break
			}
			select {
			case <-ctx.Done():
				done <- fmt.Errorf("the plugin created nothing in %s", ns)
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		for _, step := range steps {
			if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				done <- err
				return
			}
			step(obj)
			if err := c.Status().Update(ctx, obj); err != nil {
				done <- err
				return
			}
			time.Sleep(150 * time.Millisecond)
		}
		done <- nil
	}()
	return done
}

func driveBackup(t *testing.T, c client.Client, ns string, steps ...func(*v1alpha1.Backup)) <-chan error {
	var list v1alpha1.BackupList
	return drive(t, c, ns, &list, func() []*v1alpha1.Backup {
		var out []*v1alpha1.Backup
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		return out
	}, steps...)
}

func driveRestore(t *testing.T, c client.Client, ns string, steps ...func(*v1alpha1.Restore)) <-chan error {
	var list v1alpha1.RestoreList
	return drive(t, c, ns, &list, func() []*v1alpha1.Restore {
		var out []*v1alpha1.Restore
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		return out
	}, steps...)
}

func forwarded(status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: controller.ConditionForwarded, Status: status, Reason: reason, Message: msg,
		LastTransitionTime: metav1.NewTime(now), ObservedGeneration: 1}
}

// transfer is status.progress as the controller writes it, read at now+at.
func transfer(at time.Duration, targets ...v1alpha1.TargetProgress) *v1alpha1.TransferProgress {
	return &v1alpha1.TransferProgress{UpdateTime: *mt(at), Targets: targets}
}

// waitNamespace is a fresh namespace with a definition "web" (not "shop":
// the golden `list shop -A` must see only the fixture's).
func waitNamespace(t *testing.T) (*testutil.Envtest, string) {
	e := testutil.SharedEnvtest(t)
	ns := e.CreateNamespace(t)
	create(t, e.Client, definition(ns, "web"))
	return e, ns
}

func TestBackupWaitCompleted(t *testing.T) {
	e, ns := waitNamespace(t)
	done := driveBackup(t, e.Client, ns,
		func(b *v1alpha1.Backup) {
			b.Status.Phase = v1alpha1.BackupPending
			b.Status.Conditions = []metav1.Condition{forwarded(metav1.ConditionFalse, controller.ReasonRunnerBusy, "the runner is busy with backup 20261121T115900Z-busy")}
		},
		func(b *v1alpha1.Backup) {
			b.Status.Phase, b.Status.BackupID, b.Status.StartTime = v1alpha1.BackupRunning, "20261121T120000Z-k3f9", mt(-10*time.Second)
			b.Status.Conditions = []metav1.Condition{forwarded(metav1.ConditionTrue, controller.ReasonAccepted, "runner started backup 20261121T120000Z-k3f9")}
		},
		// Two readings of the counts, 5s apart: the first rate is bytes
		// over the time since the target started, the next the change
		// between the readings.
		func(b *v1alpha1.Backup) {
			b.Status.Progress = transfer(-5*time.Second,
				v1alpha1.TargetProgress{Name: "main", Phase: v1alpha1.TargetRunning, PlainBytes: 10 << 20, StoredBytes: 3 << 20, StartTime: mt(-10 * time.Second)},
				v1alpha1.TargetProgress{Name: "cache", Phase: v1alpha1.TargetWaiting})
		},
		func(b *v1alpha1.Backup) {
			b.Status.Progress = transfer(0,
				v1alpha1.TargetProgress{Name: "main", Phase: v1alpha1.TargetRunning, PlainBytes: 30 << 20, StoredBytes: 9 << 20, StartTime: mt(-10 * time.Second)},
				v1alpha1.TargetProgress{Name: "cache", Phase: v1alpha1.TargetRunning, PlainBytes: 1 << 20, StartTime: mt(-2 * time.Second)})
		},
		func(b *v1alpha1.Backup) {
			b.Status.Phase, b.Status.EndTime, b.Status.Size, b.Status.Targets = v1alpha1.BackupCompleted, mt(32*time.Second), "1.6 MiB", shopTargets
			b.Status.Progress = nil
		})
	r := plugin(t, e, ns, "backup", "web", "--wait")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.wantCode(t, kubectlcoffer.ExitOK)
	contains(t, "backup --wait", r.out, "backup web-ondemand-", " created\n",
		"Pending: RunnerBusy: the runner is busy with backup 20261121T115900Z-busy",
		"Running [20261121T120000Z-k3f9]",
		"Running: main 10.0 MiB (2.0 MiB/s), cache waiting [20261121T120000Z-k3f9]",
		"Running: main 30.0 MiB (4.0 MiB/s), cache 1.0 MiB (512.0 KiB/s) [20261121T120000Z-k3f9]",
		"completed: id 20261121T120000Z-k3f9, 2 targets, 1.6 MiB stored, took 42s",
		"main     postgres   1.5 MiB", shopTargets[0].SHA256)
	// The Backup is what the controller expects from a user.
	var list v1alpha1.BackupList
	if err := e.Client.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d Backups, want 1", len(list.Items))
	}
	b := list.Items[0]
	if b.Spec.DefinitionRef.Name != "web" || b.Spec.Pinned || b.Labels[controller.LabelMirrored] != "" || b.Labels[controller.LabelDefinition] != "web" {
		t.Errorf("created Backup: spec %+v, labels %v", b.Spec, b.Labels)
	}
}

func TestBackupWaitFailedExits4WithTheReason(t *testing.T) {
	e, ns := waitNamespace(t)
	const reason = "target main: pg_dump: error: connection to server at \"db\" failed: FATAL: password authentication failed"
	done := driveBackup(t, e.Client, ns,
		func(b *v1alpha1.Backup) {
			b.Status.Phase, b.Status.BackupID, b.Status.StartTime = v1alpha1.BackupRunning, "20261121T120000Z-fail", mt(0)
		},
		func(b *v1alpha1.Backup) {
			b.Status.Phase, b.Status.EndTime, b.Status.Error = v1alpha1.BackupFailed, mt(time.Second), reason
		})
	r := plugin(t, e, ns, "backup", "web", "--wait", "--pin")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.wantCode(t, kubectlcoffer.ExitFailed)
	contains(t, "stderr", r.errOut, "failed: "+reason, "kubectl coffer logs web -n "+ns)
	var list v1alpha1.BackupList
	if err := e.Client.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || !list.Items[0].Spec.Pinned {
		t.Errorf("backup --pin: %d Backups, want one with spec.pinned", len(list.Items))
	}
}

func TestBackupWaitTimeoutExits5AndLeavesTheBackup(t *testing.T) {
	e, ns := waitNamespace(t)
	r := plugin(t, e, ns, "backup", "web", "--wait", "--timeout", "300ms")
	r.wantCode(t, kubectlcoffer.ExitTimeout)
	contains(t, "stderr", r.errOut, "--timeout passed before backup web-ondemand-", "it goes on", "kubectl coffer describe backup")
	// Ctrl-C: the caller's context ends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(500*time.Millisecond, cancel)
	r = pluginCtx(ctx, e, ns, "backup", "web", "--wait")
	r.wantCode(t, kubectlcoffer.ExitInterrupted)
	contains(t, "stderr", r.errOut, "stopped waiting for backup web-ondemand-", "it goes on")
	var list v1alpha1.BackupList
	if err := e.Client.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Errorf("%d Backups after two interrupted waits, want both left in place", len(list.Items))
	}
}

func TestRestoreLatestWait(t *testing.T) {
	e, ns := waitNamespace(t)
	done := driveRestore(t, e.Client, ns,
		func(rs *v1alpha1.Restore) {
			rs.Status.Phase, rs.Status.BackupID, rs.Status.RunnerRestoreID, rs.Status.StartTime = v1alpha1.RestoreRunning, "20261121T110000Z-aaaa", "r-1", mt(0)
		},
		func(rs *v1alpha1.Restore) {
			rs.Status.Progress = transfer(2*time.Second,
				v1alpha1.TargetProgress{Name: "main", Phase: v1alpha1.TargetRunning, PlainBytes: 4 << 20, StoredBytes: 1 << 20, StartTime: mt(0)})
		},
		func(rs *v1alpha1.Restore) {
			rs.Status.Phase, rs.Status.EndTime, rs.Status.Progress = v1alpha1.RestoreCompleted, mt(12*time.Second), nil
		})
	r := plugin(t, e, ns, "restore", "latest", "--definition", "web", "--target", "main", "--into-database", "shop_copy", "--clean", "--wait")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.wantCode(t, kubectlcoffer.ExitOK)
	contains(t, "restore --wait", r.out, "(the latest backup of web)", "Running [backup 20261121T110000Z-aaaa]",
		"Running: main 4.0 MiB (2.0 MiB/s) [backup 20261121T110000Z-aaaa]",
		"completed: backup 20261121T110000Z-aaaa restored, took 12s")
	var list v1alpha1.RestoreList
	if err := e.Client.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d Restores, want 1", len(list.Items))
	}
	s := list.Items[0].Spec
	if s.LatestOf == nil || s.LatestOf.Name != "web" || s.BackupRef != nil || s.Target != "main" || s.IntoDatabase != "shop_copy" || !s.Clean {
		t.Errorf("Restore spec %+v", s)
	}
}

func TestRestoreBackupWaitFailedExits4WithTheReason(t *testing.T) {
	e, ns := waitNamespace(t)
	makeBackup(t, e.Client, backupFixture{ns: ns, name: "web-20261121t110000z-aaaa", def: "web", phase: v1alpha1.BackupCompleted,
		start: -time.Hour, took: time.Minute, targets: shopTargets})
	const reason = "target main: the database web has tables: restore with clean to overwrite it"
	done := driveRestore(t, e.Client, ns,
		func(rs *v1alpha1.Restore) {
			rs.Status.Phase, rs.Status.StartTime = v1alpha1.RestoreRunning, mt(0)
		},
		func(rs *v1alpha1.Restore) {
			rs.Status.Phase, rs.Status.EndTime, rs.Status.Error = v1alpha1.RestoreFailed, mt(time.Second), reason
		})
	r := plugin(t, e, ns, "restore", "web-20261121t110000z-aaaa", "--definition", "web", "--wait")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.wantCode(t, kubectlcoffer.ExitFailed)
	contains(t, "stderr", r.errOut, "failed: "+reason, "kubectl coffer describe restore web-restore-")
	var list v1alpha1.RestoreList
	if err := e.Client.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Spec.BackupRef == nil || list.Items[0].Spec.BackupRef.Name != "web-20261121t110000z-aaaa" {
		t.Fatalf("Restores %+v, want one with backupRef", list.Items)
	}
}

func TestPinAndUnpin(t *testing.T) {
	e, ns := waitNamespace(t)
	name := "web-20261121t110000z-aaaa"
	makeBackup(t, e.Client, backupFixture{ns: ns, name: name, def: "web", phase: v1alpha1.BackupCompleted, start: -time.Hour, took: time.Minute,
		labels: []string{"hourly"}, targets: shopTargets})
	// The controller's answer to the pin: the condition at generation 2
	// and the runner's labels.
	done := driveBackup(t, e.Client, ns, func(b *v1alpha1.Backup) {
		for b.Generation < 2 { // the plugin's patch has not landed yet
			time.Sleep(10 * time.Millisecond)
			_ = e.Client.Get(context.Background(), client.ObjectKeyFromObject(b), b)
		}
		b.Status.Labels = []string{"hourly", "pinned"}
		b.Status.Conditions = []metav1.Condition{{Type: controller.ConditionPinForwarded, Status: metav1.ConditionTrue, Reason: controller.ReasonPinned,
			Message: "runner backup 20261121T110000Z-aaaa is pinned: retention keeps it until it is unpinned", ObservedGeneration: b.Generation, LastTransitionTime: metav1.NewTime(now)}}
	})
	r := plugin(t, e, ns, "pin", name, "--wait")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.wantCode(t, kubectlcoffer.ExitOK)
	contains(t, "pin --wait", r.out, "pinned (spec.pinned=true", "retention keeps it until it is unpinned")
	r = plugin(t, e, ns, "list", "web")
	if !strings.Contains(r.out, "hourly,pinned   yes") {
		t.Errorf("list after pin:\n%s", r.out)
	}
	r = plugin(t, e, ns, "pin", name)
	contains(t, "pin again", r.out, "already pinned")
	r = plugin(t, e, ns, "unpin", name)
	r.wantCode(t, kubectlcoffer.ExitOK)
	b := &v1alpha1.Backup{}
	if err := e.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, b); err != nil {
		t.Fatal(err)
	}
	if b.Spec.Pinned || b.Generation != 3 {
		t.Errorf("after unpin: spec.pinned %t at generation %d", b.Spec.Pinned, b.Generation)
	}
	if r = plugin(t, e, ns, "list", "web"); !strings.Contains(r.out, "unpinning") {
		t.Errorf("list while the unpin is not forwarded:\n%s", r.out)
	}
}

// TestRestoreWithNamespaceMapping: the Kubernetes flags reach the Restore's
// spec.kubernetes, so a kubernetes target restores into the mapped
// namespace, as a dry run when asked.
func TestRestoreWithNamespaceMapping(t *testing.T) {
	e, ns := waitNamespace(t)
	r := plugin(t, e, ns, "restore", "latest", "--definition", "web", "--target", "resources",
		"--namespace-mapping", "shop=shop-copy", "--namespace-mapping", "web=web-copy", "--existing-resources", "update", "--dry-run")
	r.wantCode(t, kubectlcoffer.ExitOK)
	var list v1alpha1.RestoreList
	if err := e.Client.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d Restores, want 1", len(list.Items))
	}
	k := list.Items[0].Spec.Kubernetes
	if k == nil || !maps.Equal(k.NamespaceMapping, map[string]string{"shop": "shop-copy", "web": "web-copy"}) ||
		k.ExistingResources != "update" || !k.DryRun {
		t.Fatalf("Restore spec.kubernetes %+v", k)
	}
}

// TestRestoreWaitPartiallyFailedExits4WithTheItems: a restore that left
// some objects out is not reported as completed.
func TestRestoreWaitPartiallyFailedExits4WithTheItems(t *testing.T) {
	e, ns := waitNamespace(t)
	done := driveRestore(t, e.Client, ns,
		func(rs *v1alpha1.Restore) {
			rs.Status.Phase, rs.Status.StartTime = v1alpha1.RestoreRunning, mt(0)
		},
		func(rs *v1alpha1.Restore) {
			rs.Status.Phase, rs.Status.EndTime = v1alpha1.RestorePartiallyFailed, mt(time.Second)
			rs.Status.FailedItemCount = 1
			rs.Status.FailedItems = []v1alpha1.RestoreFailedItem{{Target: "resources", Item: "rolebindings.rbac.authorization.k8s.io web/admins",
				Reason: "forbidden: attempting to grant RBAC permissions not currently held"}}
		})
	r := plugin(t, e, ns, "restore", "latest", "--definition", "web", "--target", "resources", "--wait")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.wantCode(t, kubectlcoffer.ExitFailed)
	contains(t, "restore --wait", r.out+r.errOut, "partially failed: 1 item(s) not restored", "rolebindings.rbac.authorization.k8s.io web/admins", "forbidden")
}
