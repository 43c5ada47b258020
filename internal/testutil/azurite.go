package testutil

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/coffer-dev/coffer/internal/storage"
)

// azuriteVersion is the Azurite installed from the npm registry into
// bin/azurite when it is missing (hack/deps.sh does the same).
const azuriteVersion = "azurite@3.37.0"

// Azurite is Microsoft's Azure Storage emulator (the blob service only) on
// loopback, private to one test, with one account and one fresh container.
type Azurite struct {
	Endpoint  string // http://127.0.0.1:<port>/<account>
	Account   string
	Key       string // base64 shared key
	Container string
}

// StartAzurite starts an Azurite blob service for t and stops it, removing
// its data, when t ends. An Azurite that cannot be installed or started is
// Unavailable.
func StartAzurite(t testing.TB) *Azurite {
	t.Helper()
	NeedsServer(t, "Azurite")
	bin, err := azuriteBinary()
	if err != nil {
		Unavailable(t, "Azurite", err)
		return nil
	}
	for range 3 {
		var a *Azurite
		a, err = startAzurite(t, bin)
		if err == nil {
			return a
		}
	}
	Unavailable(t, "Azurite", err)
	return nil
}

// StorageConfig is a storage.Config for a's container under prefix, with
// the shared key.
func (a *Azurite) StorageConfig(prefix string) storage.Config {
	return storage.Config{
		Prefix: prefix,
		Azure: &storage.AzureConfig{
			Account:   a.Account,
			Container: a.Container,
			Endpoint:  a.Endpoint,
			SharedKey: a.Key,
		},
	}
}

// Client is a plain container client for a, for tests that inspect the
// container behind a Store's back.
func (a *Azurite) Client() (*container.Client, error) {
	cred, err := container.NewSharedKeyCredential(a.Account, a.Key)
	if err != nil {
		return nil, err
	}
	return container.NewClientWithSharedKeyCredential(a.Endpoint+"/"+a.Container, cred, nil)
}

// azuriteBinary returns bin/azurite/node_modules/.bin/azurite-blob,
// installing it with npm first if needed, serialised by a lock file
// between test packages.
func azuriteBinary() (string, error) {
	dir := filepath.Join(RepoRoot(), "bin", "azurite")
	bin := filepath.Join(dir, "node_modules", ".bin", "azurite-blob")
	if isExecutable(bin) {
		return bin, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("npm is needed to install %s: %w", azuriteVersion, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, azuriteVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %w\n%s", azuriteVersion, err, tail(string(out), 2000))
	}
	if !isExecutable(bin) {
		return "", fmt.Errorf("npm install %s left no %s", azuriteVersion, bin)
	}
	return bin, nil
}

func startAzurite(t testing.TB, bin string) (*Azurite, error) {
	dir := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	a := &Azurite{
		Account:   "coffer" + randomHex(4),
		Key:       base64.StdEncoding.EncodeToString([]byte(randomHex(32))),
		Container: "coffer-test-" + randomHex(6),
	}
	a.Endpoint = "http://" + addr + "/" + a.Account
	logPath := filepath.Join(dir, "azurite.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(bin, "--blobHost", host, "--blobPort", port,
		"--location", filepath.Join(dir, "data"), "--silent", "--loose",
		"--skipApiVersionCheck", "--disableProductStyleUrl", "--disableTelemetry")
	// The account key goes to this child only, never argv.
	cmd.Env = append(withoutAzuriteEnv(os.Environ()), "AZURITE_ACCOUNTS="+a.Account+":"+a.Key)
	proc, err := startServer(cmd, logFile)
	if err != nil {
		return nil, err
	}
	exited, stop := proc.exited, proc.stop
	t.Cleanup(stop)
	failed := func(err error) (*Azurite, error) {
		stop()
		logText, _ := os.ReadFile(logPath)
		out := strings.ReplaceAll(tail(string(logText), 2000), a.Key, "<secret>")
		return nil, fmt.Errorf("azurite on %s: %w\n%s", addr, err, out)
	}
	if err := a.createContainer(exited); err != nil {
		return failed(err)
	}
	return a, nil
}

// createContainer retries until Azurite answers: it is ready once it
// creates the container.
func (a *Azurite) createContainer(exited <-chan struct{}) error {
	client, err := a.Client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := client.Create(ctx, nil)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("create container %s: %w", a.Container, err)
		}
		select {
		case <-exited:
			return errors.New("exited before the container was created")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// withoutAzuriteEnv drops AZURITE_* settings a developer may have
// exported, so they cannot change the server under test.
func withoutAzuriteEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AZURITE_") {
			out = append(out, kv)
		}
	}
	return out
}
