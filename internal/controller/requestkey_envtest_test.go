package controller_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestBackupForwardedAgainGetsTheSameBackup: a Backup whose status lost
// its backup id while the backup ran (a controller killed before its
// status write) is forwarded again; the request key (its uid) makes the
// real runner answer with the same backup, so the Backup ends with the
// same id and the runner took one backup.
func TestBackupForwardedAgainGetsTheSameBackup(t *testing.T) {
	e := cluster(t)
	st := uniq("store-")
	storage(t, e, st)
	ns := appNamespace(t, e, true)
	name := uniq("db-")
	definition(t, e, ns, name, st)
	runnerRunning(t, e, ns, name)
	db := testutil.PostgresDB(t)
	testutil.PGExec(t, db, "CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) AS i")
	api, triggers := startKeyedRunner(t, e, ns, name, db)

	// pg_dump waits for this lock: the backup runs until it goes.
	ctx := context.Background()
	tx, err := testutil.SharedPostgres(t).Conn(t, db).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	b := &v1alpha1.Backup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "b-"},
		Spec: v1alpha1.BackupSpec{DefinitionRef: v1alpha1.LocalObjectReference{Name: name}}}
	mustCreate(t, e, b)
	key := types.NamespacedName{Namespace: ns, Name: b.Name}
	testutil.Eventually(t, 60*time.Second, "the Backup to get its backup id", func() bool {
		return e.Client.Get(ctx, key, b) == nil && b.Status.BackupID != ""
	})
	id := b.Status.BackupID

	// The id is lost, as if the controller had died before writing it.
	before := triggers.Load()
	testutil.Eventually(t, 30*time.Second, "the backup id to be removed", func() bool {
		if err := e.Client.Get(ctx, key, b); err != nil {
			return false
		}
		b.Status = v1alpha1.BackupStatus{}
		return e.Client.Status().Update(ctx, b) == nil
	})
	testutil.Eventually(t, 60*time.Second, "the Backup to be forwarded again", func() bool {
		return triggers.Load() > before && e.Client.Get(ctx, key, b) == nil && b.Status.BackupID != ""
	})
	if b.Status.BackupID != id {
		t.Fatalf("forwarded again, the Backup has backup %s, want %s", b.Status.BackupID, id)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 90*time.Second, "the Backup to complete", func() bool {
		return e.Client.Get(ctx, key, b) == nil && b.Status.Phase == v1alpha1.BackupCompleted
	})
	if b.Status.BackupID != id {
		t.Fatalf("completed Backup has backup %s, want %s", b.Status.BackupID, id)
	}
	items, err := api.Backups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].ID != id || items[0].RequestKey != string(b.UID) {
		t.Fatalf("the runner has %+v, want one backup %s with key %s", items, id, b.UID)
	}
}

// startKeyedRunner plays kubelet for a definition's runner: the daemon in
// this process, on a directory, suspended, backing up db, behind a proxy
// that counts the POST /v1/backups the controller makes.
func startKeyedRunner(t *testing.T, e *testutil.Envtest, ns, name, db string) (*runnerapi.Client, *atomic.Int32) {
	t.Helper()
	ctx := context.Background()
	sec := &corev1.Secret{}
	testutil.Eventually(t, 60*time.Second, "runner config Secret", func() bool { return e.Client.Get(ctx, runnerKey(ns, name), sec) == nil })
	doc := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: store}
spec: {filesystem: {path: %q}}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: %s, namespace: %s}
spec:
  storageRef: {name: store}
  suspend: true
  targets:
  - name: main
    postgres: {host: 127.0.0.1, port: 5432, database: %s, user: postgres}
`, t.TempDir(), name, ns, db)
	base, api := runDaemon(ctx, t, doc, string(sec.Data["api-token"]))
	target, _ := url.Parse(base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	triggers := &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/backups" {
			triggers.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); runnerURLs.Delete(ns + "/" + name) })
	runnerURLs.Store(ns+"/"+name, srv.URL)
	return api, triggers
}
