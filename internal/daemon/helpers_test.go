package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/catalog"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/layout"
	"github.com/coffer-dev/coffer/internal/phase"
	"github.com/coffer-dev/coffer/internal/runnerapi"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// testStorage is one real backend for a test: the config's storage spec,
// the Secrets it needs, and a catalog to look behind the daemon's back.
type testStorage struct {
	spec, docs string
	cat        catalog.Catalog
}

func filesystemStorage(t *testing.T) testStorage {
	dir := t.TempDir()
	return testStorage{spec: fmt.Sprintf("{filesystem: {path: %q}}", dir), cat: openCatalog(t, dir)}
}

func minioStorage(t *testing.T) testStorage {
	st, _ := minioStorageOf(t)
	return st
}

// minioStorageOf is minioStorage with its server, for tests that stop it.
func minioStorageOf(t *testing.T) (testStorage, *testutil.MinIO) {
	if testing.Short() {
		t.Skip("-short: no MinIO")
	}
	m := testutil.StartMinIO(t)
	s, err := storage.Open(context.Background(), m.StorageConfig("p"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return testStorage{
		spec: fmt.Sprintf("{s3: {bucket: %s, prefix: p, endpoint: %q, region: %s, forcePathStyle: true, credentialsSecretRef: {name: s3}}}",
			m.Bucket, m.Endpoint, testutil.MinIORegion),
		docs: fmt.Sprintf("---\napiVersion: v1\nkind: Secret\nmetadata: {name: s3}\nstringData: {accessKeyID: %q, secretAccessKey: %q}\n",
			m.AccessKey, m.SecretKey),
		cat: catalog.Catalog{Store: s, Definition: layout.Definition{Namespace: "test", Name: "shop"}},
	}, m
}

// running is a daemon started by a test, with an API client.
type running struct {
	base  string
	token string
	done  chan error
	// cancel aborts; close(stop) asks for a graceful stop.
	cancel context.CancelFunc
	stop   chan struct{}
}

// startDaemon runs the daemon until the test ends (or it is stopped) and
// waits until it holds the lease.
func startDaemon(t *testing.T, cfg *config.Config, opts Options) *running {
	t.Helper()
	r := launchDaemon(t, cfg, opts)
	testutil.Eventually(t, 60*time.Second, "the daemon to be ready", func() bool { return r.call(t, "GET", "/readyz", nil, nil) == http.StatusOK })
	return r
}

// launchDaemon runs the daemon until the test ends (or it is stopped),
// ready or not.
func launchDaemon(t *testing.T, cfg *config.Config, opts Options) *running {
	t.Helper()
	opts.Listener, opts.Token = listen(t), "t0ken"
	r := &running{base: "http://" + opts.Listener.Addr().String(), token: opts.Token, done: make(chan error, 1), stop: make(chan struct{})}
	opts.Stop = r.stop
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- Run(ctx, cfg, opts) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// wait returns Run's result, failing the test if it takes over a minute.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(time.Minute):
		t.Fatal("the daemon did not return")
		return nil
	}
}

func (r *running) call(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if e, ok := out.(*apiError); ok {
		_ = json.Unmarshal(data, e)
		return resp.StatusCode
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// apiError is the body of an API error; pass one to call to read it.
type apiError struct {
	Error string `json:"error"`
}

// backup takes an on-demand backup and waits for it to complete.
func (r *running) backup(t *testing.T) runnerapi.Backup {
	t.Helper()
	var b runnerapi.Backup
	if code := r.call(t, "POST", "/v1/backups", nil, &b); code != http.StatusAccepted {
		t.Fatalf("POST /v1/backups = %d", code)
	}
	id := b.ID
	testutil.Eventually(t, 60*time.Second, "backup "+id, func() bool {
		b = runnerapi.Backup{} // a fresh decode: fields absent now (progress) must not survive
		r.call(t, "GET", "/v1/backups/"+id, nil, &b)
		return b.Status == phase.Completed || b.Status == phase.Failed
	})
	if b.Status != phase.Completed {
		t.Fatalf("backup %s: %s %s", b.ID, b.Status, b.Error)
	}
	return b
}

// startRestore restores the latest backup's target main into a new
// database, dropped when the test ends.
func (r *running) startRestore(t *testing.T) (runnerapi.Restore, string) {
	t.Helper()
	dst := testutil.UniqueName()
	testutil.SharedPostgres(t).DropOnCleanup(t, dst)
	var rs runnerapi.Restore
	req := runnerapi.RestoreRequest{BackupID: runnerapi.Latest, Target: "main", IntoDatabase: dst}
	if code := r.call(t, "POST", "/v1/restores", req, &rs); code != http.StatusAccepted {
		t.Fatalf("POST /v1/restores = %d", code)
	}
	return rs, dst
}

// restore polls a restore until it ends.
func (r *running) restore(t *testing.T, id string) runnerapi.Restore {
	t.Helper()
	var rs runnerapi.Restore
	testutil.Eventually(t, 60*time.Second, "restore "+id, func() bool {
		rs = runnerapi.Restore{} // a fresh decode: fields absent now (progress) must not survive
		r.call(t, "GET", "/v1/restores/"+id, nil, &rs)
		return rs.Status == phase.Completed || rs.Status == phase.Failed
	})
	return rs
}
