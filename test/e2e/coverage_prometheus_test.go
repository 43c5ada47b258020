package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestCoveragePrometheus: a real Prometheus scrapes the controller and two
// real runners (one backing up PostgreSQL, one failing to) and evaluates
// config/monitoring's rules: CofferPVCUnprotected fires for the claim
// nothing covers and not for the covered one, CofferBackupFailing for the
// failing definition only; and every dashboard panel's query returns series.
func TestCoveragePrometheus(t *testing.T) {
	env := testutil.StartEnvtest(t)
	src := pgDB(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := env.Client
	const opNS, ns = "coffer-system", "shop"
	urls := &sync.Map{}
	startController(t, ctx, env, opNS, urls)
	// What the controller's metrics server serves at /metrics (this test's
	// manager binds none): controller-runtime's registry, coverage included.
	ctrlMetrics := httptest.NewServer(promhttp.HandlerFor(ctrlmetrics.Registry, promhttp.HandlerOpts{}))
	defer ctrlMetrics.Close()

	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opNS}})
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"backups": "on"}}})
	// Runner pods cannot use a filesystem storage: MinIO, as in a cluster.
	m := testutil.StartMinIO(t)
	create(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "minio"},
		StringData: map[string]string{"accessKeyID": m.AccessKey, "secretAccessKey": m.SecretKey}})
	create(t, c, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "local"}, Spec: v1alpha1.BackupStorageSpec{
		S3: &v1alpha1.S3Storage{Bucket: m.Bucket, Prefix: "coverage", Endpoint: m.Endpoint, Region: "us-east-1", ForcePathStyle: true,
			CredentialsSecretRef: &v1alpha1.SecretReference{Name: "minio"}},
		AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"backups": "on"}},
	}})
	for name, db := range map[string]string{"db": src, "broken": "coffer_e2e_no_such_db"} {
		create(t, c, &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.BackupDefinitionSpec{
			StorageRef: v1alpha1.LocalObjectReference{Name: "local"}, Schedule: "* * * * *",
			Targets: []v1alpha1.Target{{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "127.0.0.1", Port: 5432, Database: db, User: "postgres"},
				Covers: &v1alpha1.Covers{PersistentVolumeClaims: []string{name + "-data"}}}},
		}})
	}
	for _, claim := range []string{"db-data", "orphan"} {
		create(t, c, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: claim},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}})
	}
	defer playKubelet(t, c, opNS, ns, "db", urls)()
	defer playKubelet(t, c, opNS, ns, "broken", urls)()
	var runners []string
	for _, name := range []string{"db", "broken"} {
		u, _ := urls.Load(ns + "/" + name)
		runners = append(runners, strings.TrimPrefix(u.(string), "http://"))
	}
	prom := startPrometheus(t, map[string][]string{
		"coffer-controller": {strings.TrimPrefix(ctrlMetrics.URL, "http://")},
		"coffer-runner":     runners,
	})

	t.Log("waiting for the scheduled backups (every minute) and the alerts")
	testutil.Eventually(t, 150*time.Second, "CofferPVCUnprotected firing for shop/orphan", func() bool {
		return alertFor(prom.firing(t, "CofferPVCUnprotected"), "persistentvolumeclaim", "orphan")
	})
	testutil.Eventually(t, 150*time.Second, "CofferBackupFailing firing for shop/broken", func() bool {
		return alertFor(prom.firing(t, "CofferBackupFailing"), "definition", "broken")
	})
	testutil.Eventually(t, 150*time.Second, "shop/db-data protected", func() bool {
		return prom.series(t, `coffer_pvc_coverage_state{namespace="shop",persistentvolumeclaim="db-data",state="protected"} == 1`) == 1
	})
	if alertFor(prom.firing(t, "CofferPVCUnprotected"), "persistentvolumeclaim", "db-data") {
		t.Error("CofferPVCUnprotected fires for a covered claim")
	}
	if alertFor(prom.firing(t, "CofferBackupFailing"), "definition", "db") {
		t.Error("CofferBackupFailing fires for a definition whose backups complete")
	}
	if got := prom.firing(t, "CofferRunnerDown"); len(got) > 0 {
		t.Errorf("CofferRunnerDown fires for running runners: %v", got)
	}
	checkDashboard(t, prom)
}

func alertFor(alerts []map[string]string, label, value string) bool {
	for _, a := range alerts {
		if a[label] == value {
			return true
		}
	}
	return false
}

// checkDashboard: every panel has a query that returns series.
func checkDashboard(t *testing.T, prom *prometheus) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "config", "monitoring", "grafana", "coffer-coverage.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	// A panel over increase()/rate() needs a sample before a backup and
	// one after it. The runner starts a moment before Prometheus, so the
	// first scheduled backup can end before Prometheus first scrapes it
	// (then its count is 1 in every sample and increase() is 0, NaN for a
	// mean): the next one, a minute later, is the first increase seen. A
	// panel gets 90 s to return series before it fails.
	vars := strings.NewReplacer("$namespace", ".*", "$__rate_interval", "1m")
	deadline := time.Now().Add(90 * time.Second)
	for _, p := range d.Panels {
		var exprs []string
		for _, tg := range p.Targets {
			exprs = append(exprs, vars.Replace(tg.Expr))
		}
		for !anySeries(t, prom, exprs) {
			if time.Now().After(deadline) {
				t.Errorf("panel %q: no query returns series: %v", p.Title, exprs)
				break
			}
			time.Sleep(time.Second)
		}
	}
}

func anySeries(t *testing.T, prom *prometheus, exprs []string) bool {
	t.Helper()
	for _, expr := range exprs {
		if prom.series(t, expr) > 0 {
			return true
		}
	}
	return false
}
