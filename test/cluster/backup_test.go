//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// A definition in an app namespace gets a real runner pod; an on-demand
// Backup of a database of a PostgreSQL 17 pod (namespace enforcing Pod
// Security "restricted", scram-sha-256 password) completes with sizes, and a
// Restore into a new database on that server makes it equal.
func TestPostgresBackupAndRestore(t *testing.T) {
	ns := appNamespace(t, "app-"+randomSuffix(), restricted)
	st := newStreamStorage(t) // restored by hand below: one object per target
	dbPod, pg := postgresPod(t, ns)
	db := pg.CreateDB(t)
	pg.Exec(t, db, "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 2000) g")
	definition(t, ns, "shop", st.name, "0 0 1 1 *", v1alpha1.Target{Name: "main", Postgres: &v1alpha1.PostgresTarget{
		Host: dbPod.host, Port: 5432, Database: db, User: pg.User, PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: dbPod.secret, Key: "password"}}})
	runnerReady(t, ns, "shop", 5*time.Minute)
	definitionReady(t, ns, "shop")

	b := backupNow(t, ns, "shop", "first", 5*time.Minute)
	if b.Status.Phase != v1alpha1.BackupCompleted {
		t.Fatalf("Backup %s: %s", b.Status.Phase, b.Status.Error)
	}
	if b.Status.BackupID == "" || b.Status.Size == "" || len(b.Status.Targets) != 1 || b.Status.Targets[0].SizeBytes <= 0 || b.Status.Targets[0].SHA256 == "" {
		t.Fatalf("Backup status lacks id, sizes or checksums: %+v", b.Status)
	}

	// The runner pod meets Pod Security "restricted" (coffer-system enforces
	// baseline and warns on restricted): a server-side dry run of enforcing
	// restricted lists every pod that would violate it.
	pod := runnerReady(t, ns, "shop", time.Minute)
	ctx := context.Background()
	out, err := kubectl(ctx, "label", "--dry-run=server", "--overwrite", "namespace", operatorNS, "pod-security.kubernetes.io/enforce=restricted")
	if err != nil || strings.Contains(out, "violate") {
		t.Errorf("Pod Security restricted in %s: %v\n%s", operatorNS, err, out)
	}
	// The operator's --image-pull-secrets reach the runner pod.
	if len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != "coffer-pull" {
		t.Errorf("runner pod pulls with %v, want the operator's coffer-pull", pod.Spec.ImagePullSecrets)
	}
	// kubectl logs of the runner: structured, and no secret in them.
	logs, err := kubectl(ctx, "-n", operatorNS, "logs", pod.Name)
	if err != nil || !strings.Contains(logs, `"level"`) {
		t.Errorf("runner logs are not structured JSON: %v\n%s", err, logs)
	}
	for name, secret := range map[string]string{"the S3 secret key": st.minio.SecretKey, "the age identity": st.identity.String()} {
		if strings.Contains(logs, secret) {
			t.Errorf("the runner's log holds %s", name)
		}
	}

	into := testutil.UniqueName()
	pg.DropOnCleanup(t, into)
	r := restoreNow(t, ns, "into-new", v1alpha1.RestoreSpec{BackupRef: &v1alpha1.LocalObjectReference{Name: "first"}, Target: "main", IntoDatabase: into}, 5*time.Minute)
	if r.Status.Phase != v1alpha1.RestoreCompleted {
		t.Fatalf("Restore %s: %s", r.Status.Phase, r.Status.Error)
	}
	if a, b := pg.Fingerprint(t, db), pg.Fingerprint(t, into); a != b {
		t.Fatalf("restored database differs:\n%s\n%s", a, b)
	}

	// The same backup restores by hand from the bucket, without Coffer, as
	// docs/format.md tells: the object downloaded, age -d | zstd -d |
	// pg_restore, the server pod's own (17, as new as the runner's pg_dump),
	// with the password from the pod's environment.
	byHand := pg.CreateDB(t)
	restoreByHand(t, st, b.Status.BackupID, ".pgdump.zst.age", dbPod.execIn(ns,
		`PGPASSWORD="$POSTGRES_PASSWORD" exec /usr/lib/postgresql/17/bin/pg_restore --no-owner --exit-on-error -h /tmp -U postgres -d `+byHand))
	if a, b := pg.Fingerprint(t, db), pg.Fingerprint(t, byHand); a != b {
		t.Fatalf("database restored by hand differs:\n%s\n%s", a, b)
	}
}

// definitionReady waits for the definition's Ready condition to be True.
func definitionReady(t *testing.T, namespace, name string) *v1alpha1.BackupDefinition {
	t.Helper()
	def := &v1alpha1.BackupDefinition{}
	poll(t, "definition "+name+" Ready", 2*time.Minute, func() bool {
		return get(def, namespace, name) == nil && meta.IsStatusConditionTrue(def.Status.Conditions, "Ready")
	}, func() string { return fmt.Sprintf("conditions: %+v", def.Status.Conditions) })
	return def
}

// Names at the limits: a 63-character namespace with a 253-character
// definition name, and runner names of 53 to 63 characters, get runners
// that run and back up.
func TestNamesAtTheLimits(t *testing.T) {
	prefix := "limits-" + randomSuffix() + "-"
	ns := appNamespace(t, prefix+strings.Repeat("n", 63-len(prefix)), nil)
	st := newStorage(t)
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
	long := strings.Repeat("d", 250) + "-db"
	postgresDefinition(t, ns, long, st.name, db)
	// runner-<63>-<n>: 53 and 63 characters, the StatefulSet limit and the DNS label limit.
	short := appNamespace(t, "lim-"+randomSuffix(), nil)
	d53 := strings.Repeat("e", 53-len("runner-")-len(short)-1)
	d63 := strings.Repeat("f", 63-len("runner-")-len(short)-1)
	postgresDefinition(t, short, d53, st.name, db)
	postgresDefinition(t, short, d63, st.name, db)

	for _, d := range []struct{ ns, name string }{{ns, long}, {short, d53}, {short, d63}} {
		runnerReady(t, d.ns, d.name, 5*time.Minute)
		definitionReady(t, d.ns, d.name)
	}
	b := backupNow(t, ns, long, "at-the-limits", 5*time.Minute)
	if b.Status.Phase != v1alpha1.BackupCompleted {
		t.Fatalf("Backup %s: %s", b.Status.Phase, b.Status.Error)
	}
}

// The runner process killed mid-backup: the Backup ends Failed saying why,
// nothing half-written is listed, and the next backup succeeds.
func TestRunnerKilledMidBackup(t *testing.T) {
	ns := appNamespace(t, "kill-"+randomSuffix(), nil)
	st := newStorage(t)
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE big (id int PRIMARY KEY, payload text); INSERT INTO big SELECT g, md5(g::text) || md5((g+1)::text) || md5((g+2)::text) FROM generate_series(1, 1500000) g")
	postgresDefinition(t, ns, "db", st.name, db)
	pod := runnerReady(t, ns, "db", 5*time.Minute)

	create(t, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "killed"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "db"}}})
	b := &v1alpha1.Backup{}
	poll(t, "the Backup Running", 2*time.Minute, func() bool {
		return get(b, ns, "killed") == nil && b.Status.Phase == v1alpha1.BackupRunning && b.Status.BackupID != ""
	}, func() string { return fmt.Sprintf("status: %+v", b.Status) })
	conn := testutil.SharedPostgres(t).Conn(t, "postgres")
	poll(t, "pg_dump copying", 2*time.Minute, func() bool {
		var n int
		err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg_dump' AND query ILIKE 'COPY%'", db).Scan(&n)
		return err == nil && n > 0
	})
	// SIGKILL of the runner process, as the OOM killer or a crash would: no
	// drain, no failure record. (Deleting the pod is a graceful stop: the
	// runner finishes the backup first, docs/operator.md.)
	killRunner(t, pod)
	b = waitBackup(t, ns, "killed", 5*time.Minute)
	if b.Status.Phase != v1alpha1.BackupFailed || b.Status.Error == "" {
		t.Fatalf("Backup after the runner was killed: %s %q, want Failed with a reason", b.Status.Phase, b.Status.Error)
	}
	// The failure is told as an Event on the Backup, not only in its status.
	poll(t, "a Warning Event on the failed Backup", time.Minute, func() bool {
		out, err := kubectl(context.Background(), "-n", ns, "get", "events", "--field-selector", "involvedObject.kind=Backup,involvedObject.name=killed,type=Warning", "-o", "name")
		return err == nil && strings.TrimSpace(out) != ""
	}, func() string { out, _ := kubectl(context.Background(), "-n", ns, "get", "events"); return out })
	runnerReady(t, ns, "db", 5*time.Minute)
	next := backupNow(t, ns, "db", "next", 10*time.Minute)
	if next.Status.Phase != v1alpha1.BackupCompleted {
		t.Fatalf("next Backup %s: %s", next.Status.Phase, next.Status.Error)
	}
	// Nothing half-written is listed: the mirrored Backups are the next one only.
	var list v1alpha1.BackupList
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := suite.client.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	for _, item := range list.Items {
		if item.Namespace == ns && item.Status.BackupID == b.Status.BackupID && item.Status.Phase == v1alpha1.BackupCompleted {
			t.Errorf("the killed backup %s is listed Completed as %s", b.Status.BackupID, item.Name)
		}
	}
}

// A filesystem BackupStorage names a directory of the machine coffer-runner
// runs on: a runner pod has none (it crash-looped while the definition said
// Ready). The definition is refused with a condition, and no runner runs.
func TestFilesystemStorageRefused(t *testing.T) {
	ns := appNamespace(t, "fs-"+randomSuffix(), nil)
	name := "fs-" + randomSuffix()
	create(t, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: name}, Spec: v1alpha1.BackupStorageSpec{
		Filesystem:        &v1alpha1.FilesystemStorage{Path: "/var/backups/coffer"},
		AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"coffer.dev/test": "cluster"}},
	}})
	t.Cleanup(func() {
		_ = suite.client.Delete(context.Background(), &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: name}})
	})
	db := testutil.PostgresDB(t)
	postgresDefinition(t, ns, "db", name, db)
	def := &v1alpha1.BackupDefinition{}
	poll(t, "the definition refused", 2*time.Minute, func() bool {
		c := meta.FindStatusCondition(def.Status.Conditions, "Ready")
		return get(def, ns, "db") == nil && c != nil && c.Status == metav1.ConditionFalse && c.Reason == "StorageNotUsableByRunnerPods"
	}, func() string { return fmt.Sprintf("conditions: %+v", def.Status.Conditions) })
	sts := &appsv1.StatefulSet{}
	if err := get(sts, operatorNS, controller.RunnerName(ns, "db")); !isNotFound(err) {
		t.Fatalf("a runner StatefulSet exists for a refused definition (err %v)", err)
	}
}

// killRunner sends SIGKILL to the runner container's process through the
// node's containerd; the kubelet restarts the container.
func killRunner(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if len(pod.Status.ContainerStatuses) == 0 {
		t.Fatalf("pod %s has no container status", pod.Name)
	}
	id := strings.TrimPrefix(pod.Status.ContainerStatuses[0].ContainerID, "containerd://")
	args := []string{filepath.Join(testutil.RepoRoot(), "bin", "ctr"), "--address", "/run/coffer-cluster/containerd/containerd.sock",
		"-n", "k8s.io", "tasks", "kill", "--signal", "SIGKILL", id}
	if os.Geteuid() != 0 {
		args = append([]string{"sudo"}, args...)
	}
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("kill the runner: %v\n%s", err, out)
	}
}
