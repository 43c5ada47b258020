package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/config"
)

// TestPushEndpointServed: with a cockroach target, the push endpoint answers
// on the API port without the bearer token (an unknown session is 404, not
// 401), while /v1 still demands the token.
func TestPushEndpointServed(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	yaml := fmt.Sprintf(`apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: local}
spec: {filesystem: {path: %q}}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: crdb, namespace: test}
spec:
  storageRef: {name: local}
  targets:
  - name: main
    cockroach: {host: 127.0.0.1, port: 26257, database: shop, user: root, endpointURL: "http://%s"}
`, t.TempDir(), addr)
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, Options{Listener: ln, Token: "t0ken"}) }()
	defer func() { cancel(); <-done }()

	get := func(p string) int {
		for range 100 {
			resp, err := http.Get("http://" + addr + p)
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("runner never answered on %s", addr)
		return 0
	}
	if code := get("/v1/push/0123456789abcdef0123456789abcdef/BACKUP_MANIFEST"); code != http.StatusNotFound {
		t.Fatalf("unknown push session: %d, want 404", code)
	}
	if code := get("/v1/backups"); code != http.StatusUnauthorized {
		t.Fatalf("/v1/backups without token: %d, want 401", code)
	}
}
