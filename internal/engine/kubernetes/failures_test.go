package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// The failure cases of the engine conformance suite (internal/enginetest)
// that fit resources: the suite as a whole does not, since a restore
// into a namespace that holds objects is not refused (existing objects are
// skipped or updated) and there is no dump tool.

var errStorage = errors.New("storage failed")

type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		return 0, errStorage
	}
	w.left -= len(p)
	return len(p), nil
}

type cancelingWriter struct {
	cancel func()
	n      int
}

func (w *cancelingWriter) Write(p []byte) (int, error) {
	if w.n += len(p); w.n > 4<<10 {
		w.cancel()
	}
	return len(p), nil
}

func TestFailures(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := appNamespace(t, env)
	tg := target(t, env, v1alpha1.KubernetesTarget{IncludedNamespaces: []string{ns}})
	e := &Engine{PageSize: 2}
	data := backupBytes(t, e, tg)

	t.Run("WriterFails", func(t *testing.T) {
		_, err := e.Backup(context.Background(), tg, &failingWriter{left: 4 << 10})
		if !errors.Is(err, errStorage) || !strings.Contains(err.Error(), `"cluster"`) {
			t.Fatalf("Backup into a failing writer: %v", err)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := e.Backup(ctx, tg, &cancelingWriter{cancel: cancel})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Backup canceled mid-stream: %v", err)
		}
	})
	t.Run("ReaderFails", func(t *testing.T) {
		r := io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotestErrReader{})
		err := e.Restore(context.Background(), tg, r, engine.RestoreOptions{Kubernetes: &v1alpha1.KubernetesRestoreOptions{
			NamespaceMapping: map[string]string{ns: "half-" + ns}}})
		if !errors.Is(err, errStorage) {
			t.Fatalf("Restore from a failing reader: %v", err)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		cfg := rest.CopyConfig(env.Config)
		cfg.Host = "https://127.0.0.1:1"
		bad := target(t, &testutil.Envtest{Config: cfg}, v1alpha1.KubernetesTarget{})
		if _, err := e.Backup(context.Background(), bad, io.Discard); err == nil || !strings.Contains(err.Error(), `"cluster"`) {
			t.Fatalf("Backup of an unreachable API server: %v", err)
		}
	})
	t.Run("BadCredentialsStaySecret", func(t *testing.T) {
		cfg := &rest.Config{Host: env.Config.Host, BearerToken: "s3cr3t-wrong-token",
			TLSClientConfig: rest.TLSClientConfig{CAData: env.Config.CAData}}
		bad := target(t, &testutil.Envtest{Config: cfg}, v1alpha1.KubernetesTarget{})
		_, err := e.Backup(context.Background(), bad, io.Discard)
		if !apierrors.IsUnauthorized(err) || strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("Backup with a wrong token: %v", err)
		}
		err = e.Restore(context.Background(), bad, bytes.NewReader(data), engine.RestoreOptions{})
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("Restore with a wrong token: %v", err)
		}
	})
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errStorage }
