package testutil

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coffer-dev/coffer/internal/storage"
)

// minioModule is the MinIO server built into bin/ when it is missing; the
// pin is one verified to build from the module proxy (DESIGN.md §7).
const minioModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// MinIORegion is the region MinIO answers for by default.
const MinIORegion = "us-east-1"

// MinIO is a MinIO server on loopback, private to one test, with one fresh
// bucket.
type MinIO struct {
	Endpoint  string // http://127.0.0.1:<port>
	AccessKey string
	SecretKey string
	Bucket    string
	stop      func()
}

// Stop stops the server before the test ends, keeping its data: a test of
// what a runner does when its storage stops answering. Stopping twice is
// harmless.
func (m *MinIO) Stop() { m.stop() }

// StartMinIO starts a MinIO server for t and stops it, removing its data,
// when t ends. A MinIO that cannot be built or started is Unavailable.
func StartMinIO(t testing.TB) *MinIO { return startMinIOWith(t) }

// StartMinIOWithKMS starts a MinIO server, as StartMinIO does, whose KMS is
// one static key named keyName (MINIO_KMS_SECRET_KEY, random material):
// it can store objects with SSE-S3 (AES256) and SSE-KMS under that key id.
func StartMinIOWithKMS(t testing.TB, keyName string) *MinIO {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return startMinIOWith(t, "MINIO_KMS_SECRET_KEY="+keyName+":"+base64.StdEncoding.EncodeToString(key))
}

// startMinIOWith starts MinIO with extra environment settings.
func startMinIOWith(t testing.TB, env ...string) *MinIO {
	t.Helper()
	NeedsServer(t, "MinIO")
	bin, err := minioBinary()
	if err != nil {
		Unavailable(t, "MinIO", err)
		return nil
	}
	// The free port we pick can be taken before MinIO binds it.
	for range 3 {
		var m *MinIO
		m, err = startMinIO(t, bin, env)
		if err == nil {
			return m
		}
	}
	Unavailable(t, "MinIO", err)
	return nil
}

// StorageConfig is a storage.Config for m's bucket under prefix, with
// default part size and concurrency.
func (m *MinIO) StorageConfig(prefix string) storage.Config {
	return storage.Config{
		Prefix: prefix,
		S3: &storage.S3Config{
			Bucket:          m.Bucket,
			Endpoint:        m.Endpoint,
			Region:          MinIORegion,
			ForcePathStyle:  true,
			AccessKeyID:     m.AccessKey,
			SecretAccessKey: m.SecretKey,
		},
	}
}

// Client is a plain S3 client for m, for tests that inspect the bucket
// behind a Store's back.
func (m *MinIO) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       MinIORegion,
		Credentials:  credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
		BaseEndpoint: aws.String(m.Endpoint),
		UsePathStyle: true,
	})
}

// minioBinary returns bin/minio, building it first if needed. Test
// packages run in parallel processes, so the build is serialised by a lock
// file, and the binary is renamed into place only once complete.
func minioBinary() (string, error) {
	binDir := filepath.Join(RepoRoot(), "bin")
	bin := filepath.Join(binDir, "minio")
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(binDir, ".minio.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer func() { _ = lock.Close() }()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if isExecutable(bin) {
		return bin, nil // built by another package while we waited
	}
	tmpBin, err := os.MkdirTemp(binDir, ".minio-build-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmpBin) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", minioModule)
	cmd.Dir = tmpBin // outside any module: the pin alone decides the build
	cmd.Env = append(os.Environ(), "GOBIN="+tmpBin, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", minioModule, err, tail(string(out), 2000))
	}
	if err := os.Rename(filepath.Join(tmpBin, "minio"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

func startMinIO(t testing.TB, bin string, env []string) (*MinIO, error) {
	dir := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	consoleAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	m := &MinIO{
		Endpoint:  "http://" + addr,
		AccessKey: "coffer" + randomHex(8),
		SecretKey: randomHex(20),
		Bucket:    "coffer-test-" + randomHex(6),
	}
	logPath := filepath.Join(dir, "minio.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(bin, "server", filepath.Join(dir, "data"),
		"--address", addr, "--console-address", consoleAddr,
		"--certs-dir", filepath.Join(dir, "certs"), "--quiet")
	// The credentials go to this child only: never argv (visible in ps),
	// never our own environment (inherited by everything else we start).
	cmd.Env = append(withoutMinIOEnv(os.Environ()),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	cmd.Env = append(cmd.Env, env...)
	proc, err := startServer(cmd, logFile)
	if err != nil {
		return nil, err
	}
	exited, stop := proc.exited, proc.stop
	m.stop = stop
	// Registered after t.TempDir, so it runs before the data is removed.
	t.Cleanup(stop)

	failed := func(err error) (*MinIO, error) {
		stop()
		logText, _ := os.ReadFile(logPath)
		out := strings.ReplaceAll(tail(string(logText), 2000), m.SecretKey, "<secret>")
		return nil, fmt.Errorf("minio on %s: %w\n%s", addr, err, out)
	}
	if err := waitLive(m.Endpoint, exited); err != nil {
		return failed(err)
	}
	if err := m.createBucket(exited); err != nil {
		return failed(err)
	}
	return m, nil
}

// waitLive polls MinIO's liveness endpoint until it answers 200.
func waitLive(endpoint string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(endpoint + "/minio/health/live")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("health: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not live after 60s: %w", err)
		}
		select {
		case <-exited:
			return errors.New("exited before it was live")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// createBucket retries for a while: a live MinIO may still be
// initialising its object layer.
func (m *MinIO) createBucket(exited <-chan struct{}) error {
	client := m.Client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(m.Bucket)})
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("create bucket %s: %w", m.Bucket, err)
		}
		select {
		case <-exited:
			return errors.New("exited while creating the bucket")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// withoutMinIOEnv drops MINIO_* settings a developer may have exported, so
// they cannot change the server under test.
func withoutMinIOEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "MINIO_") {
			out = append(out, kv)
		}
	}
	return out
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
