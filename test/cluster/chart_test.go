//go:build cluster

package cluster

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// Coffer installed with the Helm chart (taking over the objects the suite
// applied from config/default: they are the same objects) backs up and
// restores through `kubectl coffer ... --wait`, and a failing backup makes
// the plugin exit 4 with the runner's reason.
func TestInstalledWithTheChart(t *testing.T) {
	root := testutil.RepoRoot()
	for _, bin := range []string{"helm", "kubectl-coffer"} {
		if _, err := exec.LookPath(filepath.Join(root, "bin", bin)); err != nil {
			t.Fatalf("bin/%s is missing: make build and hack/deps.sh test build it", bin)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out, err := run(ctx, filepath.Join(root, "bin", "helm"), "--kubeconfig", suite.kubeconfig, "upgrade", "--install", "coffer",
		filepath.Join(root, "charts", "coffer"), "--namespace", operatorNS, "--take-ownership", "--wait", "--timeout", "5m",
		"--set", "controller.image.tag=dev", "--set", "runner.image.tag=dev", "--set", "controller.catalogSyncInterval=5s", "--set", "runner.imagePullSecrets={coffer-pull}")
	if err != nil {
		t.Fatalf("helm upgrade --install: %v\n%s", err, out)
	}

	ns := appNamespace(t, "chart-"+randomSuffix(), nil)
	st := newStorage(t)
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g")
	postgresDefinition(t, ns, "shop", st.name, db)
	runnerReady(t, ns, "shop", 5*time.Minute)
	definitionReady(t, ns, "shop")

	coffer := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl-coffer"), append([]string{"--kubeconfig", suite.kubeconfig, "-n", ns}, args...)...)
		b, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(b), ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("kubectl coffer %s: %v", strings.Join(args, " "), err)
		}
		return string(b), 0
	}

	out, code := coffer("backup", "shop", "--wait", "--timeout", "5m")
	if code != 0 || !strings.Contains(out, "completed: id ") {
		t.Fatalf("kubectl coffer backup shop --wait: exit %d\n%s", code, out)
	}
	out, code = coffer("list", "shop", "-o", "json")
	var list v1alpha1.BackupList
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) == 0 {
		t.Fatalf("kubectl coffer list shop -o json: exit %d\n%s", code, out)
	}
	name := ""
	for _, b := range list.Items {
		if b.Status.Phase == v1alpha1.BackupCompleted {
			name = b.Name
		}
	}
	into := testutil.UniqueName()
	testutil.SharedPostgres(t).DropOnCleanup(t, into)
	out, code = coffer("restore", name, "--definition", "shop", "--target", "main", "--into-database", into, "--wait", "--timeout", "5m")
	if code != 0 || !strings.Contains(out, "completed: backup ") {
		t.Fatalf("kubectl coffer restore --wait: exit %d\n%s", code, out)
	}
	if a, b := testutil.PGFingerprint(t, db), testutil.PGFingerprint(t, into); a != b {
		t.Fatalf("restored database differs:\n%s\n%s", a, b)
	}
	for _, args := range [][]string{{"status", "shop"}, {"describe", "backup", name}, {"logs", "shop", "--tail", "20"}, {"coverage"}} {
		if out, code := coffer(args...); code != 0 {
			t.Errorf("kubectl coffer %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}

	// A database that does not exist: the backup fails, the plugin exits 4
	// with pg_dump's reason.
	postgresDefinition(t, ns, "broken", st.name, "no_such_database_"+randomSuffix())
	runnerReady(t, ns, "broken", 5*time.Minute)
	out, code = coffer("backup", "broken", "--wait", "--timeout", "5m")
	if code != 4 || !strings.Contains(out, "failed: ") || !strings.Contains(out, "no_such_database_") {
		t.Fatalf("kubectl coffer backup broken --wait: exit %d, want 4 with the reason\n%s", code, out)
	}
}

func run(ctx context.Context, bin string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}
