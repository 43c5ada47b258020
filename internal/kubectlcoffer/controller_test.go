package kubectlcoffer_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
	"github.com/coffer-dev/coffer/internal/kubectlcoffer"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// The other tests play the controller; this one runs the real one, on an
// API server of its own, with a runner played behind the real runner API
// handler: what the plugin creates is what the controller forwards, and what
// the runner answers is what the plugin prints.
func TestAgainstTheRealController(t *testing.T) {
	e := testutil.StartEnvtest(t)
	runner := &playedRunner{}
	startController(t, e, runner)
	ns := realControllerFixture(t, e)

	r := pluginReal(t, e, ns, "backup", "shop", "--pin", "--wait", "--timeout", "2m")
	r.wantCode(t, kubectlcoffer.ExitOK)
	id := runner.backupID()
	contains(t, "backup --wait", r.out, "completed: id "+id+", 1 targets, 1.0 MiB stored", "main     postgres   1.0 MiB")
	if !runner.pinnedRequest() {
		t.Error("backup --pin did not reach the runner as a pinned backup request")
	}

	var list v1alpha1.BackupList
	if err := e.Client.List(t.Context(), &list, client.InNamespace(ns)); err != nil || len(list.Items) != 1 {
		t.Fatalf("Backups in %s: %v, %d", ns, err, len(list.Items))
	}
	r = pluginReal(t, e, ns, "restore", list.Items[0].Name, "--definition", "shop", "--target", "main", "--into-database", "shop_copy", "--wait", "--timeout", "2m")
	r.wantCode(t, kubectlcoffer.ExitFailed)
	contains(t, "restore --wait", r.errOut, "failed: target main: the database shop_copy has tables")
	req := runner.restoreRequest()
	if req.BackupID != id || req.Target != "main" || req.IntoDatabase != "shop_copy" {
		t.Errorf("the runner got restore request %+v, want backup %s, target main into shop_copy", req, id)
	}
}

func pluginReal(t *testing.T, e *testutil.Envtest, ns string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return pluginCtx(ctx, e, ns, args...)
}

// realControllerFixture: a storage admitting the app namespace and a valid
// definition, so the controller renders its runner config (with the token).
func realControllerFixture(t *testing.T, e *testutil.Envtest) string {
	t.Helper()
	namespace(t, e, operatorNS)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "app-", Labels: map[string]string{"backups": "allowed"}}}
	create(t, e.Client, ns)
	create(t, e.Client, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: "main-s3"},
		StringData: map[string]string{"accessKeyID": "AK", "secretAccessKey": "SK"}})
	create(t, e.Client, &v1alpha1.BackupStorage{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: "main"},
		Spec: v1alpha1.BackupStorageSpec{
			S3:                &v1alpha1.S3Storage{Bucket: "b", Endpoint: "http://127.0.0.1:9", CredentialsSecretRef: &v1alpha1.SecretReference{Name: "main-s3"}},
			AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"backups": "allowed"}},
		}})
	create(t, e.Client, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "pg"}, StringData: map[string]string{"password": "pw"}})
	create(t, e.Client, &v1alpha1.BackupDefinition{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "shop"},
		Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: "main"}, Schedule: "0 * * * *",
			Targets: []v1alpha1.Target{{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "db", Database: "shop", User: "app",
				PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: "pg", Key: "password"}}}}}})
	return ns.Name
}

// startController runs coffer-controller's reconcilers against e, every
// runner reached at runner's server.
func startController(t *testing.T, e *testutil.Envtest, runner *playedRunner) {
	t.Helper()
	srv := httptest.NewServer(runner.handler(e))
	t.Cleanup(srv.Close)
	ctrl.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(e.Config, ctrl.Options{Scheme: e.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: controller.CacheOptions(operatorNS), Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}}})
	if err != nil {
		t.Fatal(err)
	}
	err = controller.Setup(ctx, mgr, controller.Config{
		Settings:     controller.Settings{OperatorNamespace: operatorNS, RunnerImage: "coffer-runner:test"},
		SyncInterval: time.Second,
		HTTP:         &http.Client{Timeout: 5 * time.Second},
		RunnerURL:    func(_, _, _ string) string { return srv.URL },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("controller: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// playedRunner is the runner of every definition: a backup runs for one
// poll and completes; a restore fails as a database with tables does.
type playedRunner struct {
	mu       sync.Mutex
	backup   runnerapi.Backup
	polls    int
	pinned   bool
	restore  runnerapi.RestoreRequest
	restored bool
}

// handler serves the real runner API, with the token the controller wrote
// into the runner's config Secret (read when the first call comes).
func (p *playedRunner) handler(e *testutil.Envtest) http.Handler {
	var once sync.Once
	var h http.Handler
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			var list corev1.SecretList
			_ = e.Client.List(r.Context(), &list, client.InNamespace(operatorNS))
			token := ""
			for _, s := range list.Items {
				if strings.HasPrefix(s.Name, "runner-") {
					token = string(s.Data["api-token"])
				}
			}
			h = runnerapi.NewHandler(p, token, http.NotFoundHandler(), slog.New(slog.DiscardHandler))
		})
		h.ServeHTTP(w, r)
	})
}

func (p *playedRunner) backupID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.backup.ID
}

func (p *playedRunner) pinnedRequest() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pinned
}

func (p *playedRunner) restoreRequest() runnerapi.RestoreRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restore
}

func (p *playedRunner) Backups(context.Context) ([]runnerapi.Backup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.backup.ID == "" {
		return nil, nil
	}
	return []runnerapi.Backup{p.backup}, nil
}

func (p *playedRunner) Backup(_ context.Context, id string) (runnerapi.Backup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id != p.backup.ID {
		return runnerapi.Backup{}, runnerapi.ErrNotFound
	}
	if p.polls++; p.polls >= 2 && p.backup.Status == phase.Running {
		p.backup.Status, p.backup.EndTime = phase.Completed, p.backup.StartTime.Add(3*time.Second)
		p.backup.Targets = []runnerapi.BackupTarget{{Name: "main", Engine: "postgres", Size: 1 << 20, SHA256: strings.Repeat("ab", 32)}}
	}
	return p.backup, nil
}

func (p *playedRunner) TriggerBackup(_ context.Context, req runnerapi.BackupRequest) (runnerapi.Backup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.backup.ID != "" {
		return runnerapi.Backup{}, runnerapi.ErrBusy
	}
	start := time.Now().UTC()
	p.pinned = req.Pinned
	p.backup = runnerapi.Backup{ID: layout.NewID(start), Status: phase.Running, StartTime: start, Trigger: "manual"}
	return p.backup, nil
}

func (p *playedRunner) SetLabel(context.Context, string, string, bool) (runnerapi.Backup, error) {
	return runnerapi.Backup{}, runnerapi.ErrInvalid
}

func (p *playedRunner) StartRestore(_ context.Context, req runnerapi.RestoreRequest) (runnerapi.Restore, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.restore, p.restored = req, true
	return runnerapi.Restore{ID: "r-1", BackupID: req.BackupID, Status: phase.Running, StartTime: time.Now().UTC()}, nil
}

func (p *playedRunner) Restore(_ context.Context, id string) (runnerapi.Restore, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id != "r-1" || !p.restored {
		return runnerapi.Restore{}, runnerapi.ErrNotFound
	}
	now := time.Now().UTC()
	return runnerapi.Restore{ID: id, BackupID: p.restore.BackupID, Status: phase.Failed, StartTime: now.Add(-time.Second), EndTime: now,
		Error: "target main: the database shop_copy has tables: restore with clean to overwrite it"}, nil
}

func (p *playedRunner) Ready(context.Context) error { return nil }

func (p *playedRunner) VolumePushes(context.Context) ([]runnerapi.VolumePush, error) { return nil, nil }
