package testutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	gcs "cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/coffer-dev/coffer/internal/storage"
)

// fakeGCSModule is the GCS emulator built into bin/ when it is missing.
const fakeGCSModule = "github.com/fsouza/fake-gcs-server@v1.56.1"

// FakeGCS is fsouza/fake-gcs-server, a GCS emulator speaking the JSON API
// (with resumable uploads and preconditions), on loopback, private to one
// test, with one fresh bucket.
type FakeGCS struct {
	Endpoint string // http://127.0.0.1:<port>
	Bucket   string
}

// StartFakeGCS starts a GCS emulator for t and stops it when t ends. One
// that cannot be built or started is Unavailable.
func StartFakeGCS(t testing.TB) *FakeGCS {
	t.Helper()
	NeedsServer(t, "fake-gcs-server")
	bin, err := goBinary("fake-gcs-server", fakeGCSModule)
	if err != nil {
		Unavailable(t, "fake-gcs-server", err)
		return nil
	}
	for range 3 {
		var g *FakeGCS
		g, err = startFakeGCS(t, bin)
		if err == nil {
			return g
		}
	}
	Unavailable(t, "fake-gcs-server", err)
	return nil
}

// StorageConfig is a storage.Config for g's bucket under prefix.
func (g *FakeGCS) StorageConfig(prefix string) storage.Config {
	return storage.Config{Prefix: prefix, GCS: &storage.GCSConfig{Bucket: g.Bucket, Endpoint: g.Endpoint, Anonymous: true}}
}

// Client is a plain GCS client for g, for tests that look behind a Store.
func (g *FakeGCS) Client(ctx context.Context) (*gcs.Client, error) {
	return gcs.NewClient(ctx, option.WithEndpoint(g.Endpoint+"/storage/v1/"), option.WithoutAuthentication())
}

// goBinary returns bin/<name>, building module into it first if needed,
// serialised between test packages by a lock file.
func goBinary(name, module string) (string, error) {
	binDir := filepath.Join(RepoRoot(), "bin")
	bin := filepath.Join(binDir, name)
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(binDir, "."+name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer func() { _ = lock.Close() }()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if isExecutable(bin) {
		return bin, nil
	}
	tmpBin, err := os.MkdirTemp(binDir, "."+name+"-build-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmpBin) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", module)
	cmd.Dir = tmpBin
	cmd.Env = append(os.Environ(), "GOBIN="+tmpBin, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", module, err, tail(string(out), 2000))
	}
	if err := os.Rename(filepath.Join(tmpBin, name), bin); err != nil {
		return "", err
	}
	return bin, nil
}

func startFakeGCS(t testing.TB, bin string) (*FakeGCS, error) {
	dir := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	g := &FakeGCS{Endpoint: "http://" + addr, Bucket: "coffer-test-" + randomHex(6)}
	logPath := filepath.Join(dir, "fake-gcs.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(bin, "-scheme", "http", "-host", host, "-port", port,
		"-backend", "filesystem", "-filesystem-root", filepath.Join(dir, "data"),
		"-external-url", g.Endpoint, "-public-host", addr, "-log-level", "warn")
	proc, err := startServer(cmd, logFile)
	if err != nil {
		return nil, err
	}
	exited, stop := proc.exited, proc.stop
	t.Cleanup(stop)
	if err := g.createBucket(exited); err != nil {
		stop()
		logText, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("fake-gcs-server on %s: %w\n%s", addr, err, tail(string(logText), 2000))
	}
	return g, nil
}

func (g *FakeGCS) createBucket(exited <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		client, err := g.Client(ctx)
		if err == nil {
			err = client.Bucket(g.Bucket).Create(ctx, "test", nil)
			_ = client.Close()
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("create bucket %s: %w", g.Bucket, err)
		}
		select {
		case <-exited:
			return errors.New("exited before the bucket was created")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
