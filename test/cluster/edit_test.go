//go:build cluster

package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// A definition edited while its backup runs: the edit rolls the runner (its
// config changed), and the runner finishes the backup before it stops; the
// Backup ends Completed and the new runner carries the edit.
func TestDefinitionEditedMidBackup(t *testing.T) {
	ns := appNamespace(t, "edit-"+randomSuffix(), nil)
	st := newStorage(t)
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE big (id int PRIMARY KEY, payload text); INSERT INTO big SELECT g, md5(g::text) || md5((g+1)::text) || md5((g+2)::text) FROM generate_series(1, 1500000) g")
	postgresDefinition(t, ns, "db", st.name, db)
	before := runnerReady(t, ns, "db", 5*time.Minute)

	create(t, &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "during-edit"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: "db"}}})
	conn := testutil.SharedPostgres(t).Conn(t, "postgres")
	poll(t, "pg_dump copying", 2*time.Minute, func() bool {
		var n int
		err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg_dump' AND query ILIKE 'COPY%'", db).Scan(&n)
		return err == nil && n > 0
	})

	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		def := &v1alpha1.BackupDefinition{}
		if err := get(def, ns, "db"); err != nil {
			return err
		}
		def.Spec.Schedule = "0 0 2 1 *"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return suite.client.Update(ctx, def)
	})
	if err != nil {
		t.Fatal(err)
	}

	b := waitBackup(t, ns, "during-edit", 10*time.Minute)
	if b.Status.Phase != v1alpha1.BackupCompleted {
		t.Fatalf("Backup of a definition edited mid-backup: %s %q, want Completed", b.Status.Phase, b.Status.Error)
	}
	// The edit took effect: a new runner pod, ready, and the definition
	// advertising the new schedule's next run (2 January).
	after := &corev1.Pod{}
	poll(t, "a new runner pod after the edit", 5*time.Minute, func() bool {
		return get(after, operatorNS, controller.RunnerName(ns, "db")+"-0") == nil && after.UID != before.UID && podReady(after)
	})
	def := definitionReady(t, ns, "db")
	poll(t, "the next backup on the edited schedule", 2*time.Minute, func() bool {
		return get(def, ns, "db") == nil && def.Status.NextBackupTime != nil &&
			def.Status.NextBackupTime.Month() == time.January && def.Status.NextBackupTime.UTC().Day() == 2
	}, func() string { return fmt.Sprintf("status: %+v", def.Status) })
}
