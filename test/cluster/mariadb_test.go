//go:build cluster

package cluster

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// A MariaDB database backed up on the definition's schedule by a real
// runner pod (mariadb-dump from the runner image), mirrored as a Backup,
// and restored by a Restore into a new database that equals the source.
// The user has a password made of quoting-hostile characters; it never
// reaches the runner's log.
func TestMariaDBScheduledBackupAndRestore(t *testing.T) {
	ns := appNamespace(t, "maria-"+randomSuffix(), nil)
	st := newStorage(t)
	server := testutil.SharedMySQL(t)
	db := server.CreateDB(t)
	// The application's own user owns its schema (a view's definer is its
	// creator; restoring another definer's view needs SET USER).
	user := server.CreateUser(t, "coffer_t_", "")
	user.Exec(t, db, "CREATE TABLE items (id int PRIMARY KEY, name varchar(64), price decimal(10,2)); "+
		"INSERT INTO items SELECT seq, CONCAT('item ', seq), seq / 7 FROM seq_1_to_3000; "+
		"CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 10")
	host, secret := databaseService(t, ns, "maria", net.JoinHostPort(server.Host, strconv.Itoa(server.Port)), 3306, user.Password)
	create(t, &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}, Spec: v1alpha1.BackupDefinitionSpec{
		StorageRef: v1alpha1.LocalObjectReference{Name: st.name},
		Schedule:   "* * * * *",
		Targets: []v1alpha1.Target{{Name: "main", MySQL: &v1alpha1.MySQLTarget{Host: host, Port: 3306, Database: db, User: user.User,
			PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: secret, Key: "password"}}}},
	}})
	pod := runnerReady(t, ns, "shop", 5*time.Minute)
	definitionReady(t, ns, "shop")

	// The schedule fires within a minute; its backup is mirrored.
	var scheduled *v1alpha1.Backup
	poll(t, "a scheduled backup mirrored Completed", 4*time.Minute, func() bool {
		var list v1alpha1.BackupList
		if err := suite.client.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{controller.LabelMirrored: "true"}); err != nil {
			return false
		}
		for i := range list.Items {
			if b := &list.Items[i]; b.Status.Phase == v1alpha1.BackupCompleted {
				scheduled = b
				return true
			}
		}
		return false
	}, func() string {
		out, _ := kubectl(context.Background(), "-n", ns, "get", "backups", "-o", "wide")
		return out + strings.Join(eventsOf(ns, "BackupDefinition", "shop"), "\n")
	})
	if len(scheduled.Status.Targets) != 1 || scheduled.Status.Targets[0].Engine != "mysql" || scheduled.Status.Targets[0].SizeBytes <= 0 {
		t.Fatalf("scheduled Backup %s: targets %+v", scheduled.Name, scheduled.Status.Targets)
	}

	into := testutil.UniqueName()
	server.DropOnCleanup(t, into)
	r := restoreNow(t, ns, "into-new", v1alpha1.RestoreSpec{BackupRef: &v1alpha1.LocalObjectReference{Name: scheduled.Name}, Target: "main", IntoDatabase: into}, 6*time.Minute)
	if r.Status.Phase != v1alpha1.RestoreCompleted {
		t.Fatalf("Restore %s: %s", r.Status.Phase, r.Status.Error)
	}
	if a, b := server.Fingerprint(t, db), server.Fingerprint(t, into); a != b {
		t.Fatalf("restored database differs:\n%s\n%s", a, b)
	}
	logs, err := kubectl(context.Background(), "-n", operatorNS, "logs", pod.Name)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs, user.Password) {
		t.Error("the runner's log holds the MariaDB password")
	}
	if !strings.Contains(logs, `"level"`) {
		t.Errorf("runner logs are not structured JSON:\n%s", logs)
	}
}
