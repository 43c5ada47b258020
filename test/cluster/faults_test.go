//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// Several on-demand Backups created at once: each is forwarded once (never
// Forwarded=False once it has a backup id), each gets its own backup, and
// the catalog holds exactly those: no duplicate backup, no second Backup
// object of one backup.
func TestOnDemandBackupsForwardedOnce(t *testing.T) {
	ns := appNamespace(t, "once-"+randomSuffix(), nil)
	st := newStorage(t)
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 1000)")
	postgresDefinition(t, ns, "db", st.name, db)
	runnerReady(t, ns, "db", 5*time.Minute)
	versions := recordBackups(t, ns)
	names := []string{"one", "two", "three"}
	for _, n := range names {
		create(t, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n},
			Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "db"}}})
	}
	ids := map[string]string{}
	for _, n := range names {
		b := waitBackup(t, ns, n, 5*time.Minute)
		if b.Status.Phase != v1alpha1.BackupCompleted {
			t.Fatalf("Backup %s: %s %s", n, b.Status.Phase, b.Status.Error)
		}
		if other, dup := ids[b.Status.BackupID]; dup {
			t.Fatalf("Backups %s and %s share backup %s", other, n, b.Status.BackupID)
		}
		ids[b.Status.BackupID] = n
		forwardedOnce(t, versions(), n)
	}
	onlyTheseBackups(t, ns, ids)
}

// onlyTheseBackups waits two catalog syncs, then fails the test if the
// namespace holds a Backup object of a backup other than ids (a duplicate
// backup, mirrored) or more than one object of one backup.
func onlyTheseBackups(t *testing.T, ns string, ids map[string]string) {
	t.Helper()
	time.Sleep(12 * time.Second) // the suite's catalog sync is 5 s
	var list v1alpha1.BackupList
	if err := suite.client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	objects := map[string][]string{}
	for _, b := range list.Items {
		objects[b.Status.BackupID] = append(objects[b.Status.BackupID], b.Name)
	}
	for id, names := range objects {
		if _, ok := ids[id]; !ok || len(names) != 1 {
			t.Errorf("backup %q has Backup objects %v; want one object for each of %v and nothing else", id, names, ids)
		}
	}
}

// The controller's pod deleted while a backup runs: the new controller
// follows the same backup to the end (no second forward, no second
// backup), and there is still exactly one runner.
func TestControllerDeletedMidBackup(t *testing.T) {
	ns := appNamespace(t, "ctl-"+randomSuffix(), nil)
	st := newStorage(t)
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE big (id int PRIMARY KEY, payload text); INSERT INTO big SELECT g, md5(g::text) || md5((g+1)::text) FROM generate_series(1, 800000) g")
	postgresDefinition(t, ns, "db", st.name, db)
	runnerReady(t, ns, "db", 5*time.Minute)
	versions := recordBackups(t, ns)
	create(t, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "through"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "db"}}})
	b := &v1alpha1.Backup{}
	poll(t, "the Backup Running", 2*time.Minute, func() bool {
		return get(b, ns, "through") == nil && b.Status.Phase == v1alpha1.BackupRunning && b.Status.BackupID != ""
	}, func() string { return fmt.Sprintf("status: %+v", b.Status) })
	id := b.Status.BackupID

	ctx := context.Background()
	old := controllerPods(t)
	if out, err := kubectl(ctx, "-n", operatorNS, "delete", "pod", "--wait=false", "-l", "app.kubernetes.io/name=coffer,app.kubernetes.io/component=controller"); err != nil {
		t.Fatalf("delete the controller pod: %v\n%s", err, out)
	}
	poll(t, "a new controller pod Ready", 3*time.Minute, func() bool {
		for _, p := range listControllerPods(t) {
			if !old[p.Name] && p.DeletionTimestamp == nil && podReady(&p) {
				return true
			}
		}
		return false
	})
	b = waitBackup(t, ns, "through", 10*time.Minute)
	if b.Status.Phase != v1alpha1.BackupCompleted || b.Status.BackupID != id {
		t.Fatalf("Backup after the controller restart: %s, backup %s (was %s): %s", b.Status.Phase, b.Status.BackupID, id, b.Status.Error)
	}
	forwardedOnce(t, versions(), "through")
	onlyTheseBackups(t, ns, map[string]string{id: "through"})
	// One runner: one StatefulSet and one pod of the definition.
	var sets appsv1.StatefulSetList
	var pods corev1.PodList
	sel := client.MatchingLabels{controller.LabelDefinitionNamespace: ns}
	if err := suite.client.List(ctx, &sets, client.InNamespace(operatorNS), sel); err != nil {
		t.Fatal(err)
	}
	if err := suite.client.List(ctx, &pods, client.InNamespace(operatorNS), sel); err != nil {
		t.Fatal(err)
	}
	if len(sets.Items) != 1 || len(pods.Items) != 1 {
		t.Errorf("after the restart: %d runner StatefulSets and %d runner pods, want 1 and 1", len(sets.Items), len(pods.Items))
	}
	definitionReady(t, ns, "db")
}

func controllerPods(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, p := range listControllerPods(t) {
		names[p.Name] = true
	}
	return names
}

func listControllerPods(t *testing.T) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := suite.client.List(context.Background(), &pods, client.InNamespace(operatorNS),
		client.MatchingLabels{"app.kubernetes.io/name": "coffer", "app.kubernetes.io/component": "controller"}); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// The storage's endpoint becomes unreachable from the node: the runner
// stops being ready, the definition says Ready=False (StorageUnreachable,
// the runner's own words naming the storage, not a lease held elsewhere),
// and once the way is open again it is Ready.
func TestStorageUnreachable(t *testing.T) {
	ns := appNamespace(t, "unreach-"+randomSuffix(), nil)
	st := newStorage(t)
	db := testutil.PostgresDB(t)
	postgresDefinition(t, ns, "db", st.name, db)
	runnerReady(t, ns, "db", 5*time.Minute)
	definitionReady(t, ns, "db")

	st.way.cut()
	def := &v1alpha1.BackupDefinition{}
	poll(t, "Ready=False StorageUnreachable", 3*time.Minute, func() bool {
		c := meta.FindStatusCondition(def.Status.Conditions, controller.ConditionReady)
		return get(def, ns, "db") == nil && c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonStorageUnreachable &&
			strings.Contains(c.Message, "is not reachable")
	}, func() string { return fmt.Sprintf("conditions: %+v", def.Status.Conditions) })
	if !strings.Contains(strings.Join(eventsOf(ns, "BackupDefinition", "db"), "\n"), controller.ReasonStorageUnreachable) {
		t.Errorf("no StorageUnreachable Event on the definition: %v", eventsOf(ns, "BackupDefinition", "db"))
	}
	if err := st.way.reopen(); err != nil {
		t.Fatalf("reopen the way to the storage: %v", err)
	}
	runnerReady(t, ns, "db", 5*time.Minute)
	definitionReady(t, ns, "db")
}
