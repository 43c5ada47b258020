package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// etcdToolsDir is the Go module that pins the etcd server and etcdutl.
const etcdToolsDir = "hack/tools/etcd"

// EtcdBinaries returns bin/etcd and bin/etcdutl, building them from
// hack/tools/etcd first when missing. A failed build is Unavailable.
func EtcdBinaries(t testing.TB) (etcd, etcdutl string) {
	t.Helper()
	NeedsServer(t, "etcd")
	etcd, etcdutl, err := etcdBinaries()
	if err != nil {
		Unavailable(t, "etcd (built from "+etcdToolsDir+")", err)
	}
	return etcd, etcdutl
}

// etcdBinaries builds under a lock file, since test packages run in
// parallel processes, and renames each binary into place once complete.
func etcdBinaries() (string, string, error) {
	binDir := filepath.Join(RepoRoot(), "bin")
	etcd, etcdutl := filepath.Join(binDir, "etcd"), filepath.Join(binDir, "etcdutl")
	if isExecutable(etcd) && isExecutable(etcdutl) {
		return etcd, etcdutl, nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", "", err
	}
	lock, err := os.OpenFile(filepath.Join(binDir, ".etcd.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", "", err
	}
	defer func() { _ = lock.Close() }()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	for _, b := range []struct{ bin, pkg string }{
		{etcd, "."},
		{etcdutl, "go.etcd.io/etcd/etcdutl/v3"},
	} {
		if isExecutable(b.bin) {
			continue // built by another package while we waited
		}
		if err := goBuild(binDir, b.bin, b.pkg); err != nil {
			return "", "", err
		}
	}
	return etcd, etcdutl, nil
}

func goBuild(binDir, bin, pkg string) error {
	tmp, err := os.MkdirTemp(binDir, ".etcd-build-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	out := filepath.Join(tmp, filepath.Base(bin))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Join(RepoRoot(), etcdToolsDir)
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", pkg, etcdToolsDir, err, tail(string(b), 2000))
	}
	return os.Rename(out, bin)
}
