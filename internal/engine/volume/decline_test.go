package volume_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
	"github.com/coffer-dev/coffer/internal/engine/volume"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// TestDeclineEndsTheWait: when the controller reports that no reader pod
// can run (Pod Security refused it), the backup fails at once with that
// reason instead of waiting for a push that never comes.
func TestDeclineEndsTheWait(t *testing.T) {
	var ep *pushendpoint.Endpoint
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ep.ServeHTTP(w, r) }))
	defer srv.Close()
	var err error
	if ep, err = pushendpoint.New(srv.URL, nil); err != nil {
		t.Fatal(err)
	}
	svc := volume.NewService(ep, time.Hour)
	eng := svc.Engine(filesystem.New())
	target := engine.Target{Namespace: "shop", Spec: v1alpha1.Target{Name: "data",
		Filesystem: &v1alpha1.FilesystemTarget{Path: "/data", PersistentVolumeClaim: "data"}}}
	done := make(chan error, 1)
	go func() {
		_, err := eng.Backup(context.Background(), target, io.Discard)
		done <- err
	}()
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the backup announced no push")
		}
		if l := svc.List(); len(l) == 1 {
			base = l[0].URL
		}
	}
	if err := volume.Decline(context.Background(), base, "volume pod coffer-reader-x was refused: violates PodSecurity"); err != nil {
		t.Fatalf("Decline: %v", err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no reader pod can run: volume pod coffer-reader-x was refused") {
			t.Fatalf("Backup error %v, want the refusal", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backup still waits after the decline")
	}
	// The session takes nothing more once declined.
	if err := volume.Decline(context.Background(), base, "again"); err == nil {
		t.Error("a second decline was accepted")
	}
}
