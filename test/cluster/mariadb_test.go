//go:build cluster

package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// A database of a MariaDB pod (namespace enforcing Pod Security
// "restricted", root password from a Secret) backed up on the definition's
// schedule by a real runner pod (mariadb-dump from the runner image),
// mirrored as a Backup, restored by a Restore into a new database that equals
// the source, and restored by hand from the bucket into the pod's server.
// The application's user has a password made of quoting-hostile characters;
// it never reaches the runner's log.
func TestMariaDBScheduledBackupAndRestore(t *testing.T) {
	ns := appNamespace(t, "maria-"+randomSuffix(), restricted)
	st := newStreamStorage(t) // restored by hand below: one object per target
	dbPod, root := mariadbPod(t, ns)
	db := root.CreateDB(t)
	// The application's own user owns its schema (a view's definer is its
	// creator; restoring another definer's view needs SET USER). It connects
	// from the runner pod and from this machine: any host.
	user := testutil.MySQLServer{Host: root.Host, Port: root.Port, User: testutil.UniqueName(), Password: testutil.HostilePassword()}
	root.Exec(t, "", "CREATE USER "+mysqlQuote(user.User)+"@'%' IDENTIFIED BY "+mysqlQuote(user.Password)+"; "+
		"GRANT ALL PRIVILEGES ON `coffer_t_%`.* TO "+mysqlQuote(user.User)+"@'%'")
	user.Exec(t, db, "CREATE TABLE items (id int PRIMARY KEY, name varchar(64), price decimal(10,2)); "+
		"INSERT INTO items SELECT seq, CONCAT('item ', seq), seq / 7 FROM seq_1_to_3000; "+
		"CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 10")
	secret := "app-" + randomSuffix()
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secret}, StringData: map[string]string{"password": user.Password}})
	definition(t, ns, "shop", st.name, "* * * * *", v1alpha1.Target{Name: "main", MySQL: &v1alpha1.MySQLTarget{
		Host: dbPod.host, Port: 3306, Database: db, User: user.User, PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: secret, Key: "password"}}})
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
	root.DropOnCleanup(t, into)
	r := restoreNow(t, ns, "into-new", v1alpha1.RestoreSpec{BackupRef: &v1alpha1.LocalObjectReference{Name: scheduled.Name}, Target: "main", IntoDatabase: into}, 6*time.Minute)
	if r.Status.Phase != v1alpha1.RestoreCompleted {
		t.Fatalf("Restore %s: %s", r.Status.Phase, r.Status.Error)
	}
	if a, b := root.Fingerprint(t, db), root.Fingerprint(t, into); a != b {
		t.Fatalf("restored database differs:\n%s\n%s", a, b)
	}

	// By hand, as docs/format.md tells: age -d | zstd -d | mariadb, the pod's
	// own client as root, the password from the pod's environment.
	byHand := root.CreateDB(t)
	restoreByHand(t, st, scheduled.Status.BackupID, ".sql.zst.age", dbPod.execIn(ns,
		`MYSQL_PWD="$MARIADB_ROOT_PASSWORD" exec mariadb --no-defaults --socket=/tmp/mysqld.sock -u root `+byHand))
	if a, b := root.Fingerprint(t, db), root.Fingerprint(t, byHand); a != b {
		t.Fatalf("database restored by hand differs:\n%s\n%s", a, b)
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
