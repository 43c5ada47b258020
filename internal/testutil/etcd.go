package testutil

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdToolsDir is the Go module that pins the etcd server and etcdutl.
const etcdToolsDir = "hack/tools/etcd"

// Etcd is a one-member etcd cluster on loopback, private to one test.
type Etcd struct {
	// Endpoint is the client URL, http:// or https:// (TLS).
	Endpoint string
	// DataDir is the member's data directory.
	DataDir string
	// TLS is set when the server demands client certificates.
	TLS *EtcdPKI
	// RootPassword is set once EnableAuth ran.
	RootPassword string

	bin     string
	args    []string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// EtcdOptions change how StartEtcd runs the server.
type EtcdOptions struct {
	// TLS serves https and requires client certificates signed by a CA
	// made for this server (Etcd.TLS).
	TLS bool
	// Snapshot, when set, is restored with etcdutl into the new member's
	// data directory before it starts.
	Snapshot string
	// RootPassword is root's password in Snapshot, when the snapshot was
	// taken with authentication on.
	RootPassword string
}

// EtcdPKI is a CA, a server certificate for 127.0.0.1 and a client
// certificate for user root, all PEM, made for one server.
type EtcdPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey []byte
}

// etcdMaxRequestBytes lets tests write values of several MiB.
const etcdMaxRequestBytes = 8 << 20

// EtcdBinaries returns bin/etcd and bin/etcdutl, building them from
// hack/tools/etcd first when missing. A failed build is Unavailable.
func EtcdBinaries(t testing.TB) (etcd, etcdutl string) {
	t.Helper()
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

// StartEtcd starts a one-member etcd cluster and stops it, removing its
// data, when t ends.
func StartEtcd(t testing.TB, opts EtcdOptions) *Etcd {
	t.Helper()
	etcd, etcdutl := EtcdBinaries(t)
	var pki *EtcdPKI
	if opts.TLS {
		var err error
		if pki, err = NewEtcdPKI(); err != nil {
			t.Fatalf("etcd certificates: %v", err)
		}
	}
	var err error
	for range 3 { // a free port can be taken before etcd binds it
		var e *Etcd
		if e, err = startEtcd(t, etcd, etcdutl, pki, opts); err == nil {
			return e
		}
	}
	Unavailable(t, "etcd", err)
	return nil
}

func startEtcd(t testing.TB, bin, etcdutl string, pki *EtcdPKI, opts EtcdOptions) (*Etcd, error) {
	dir := t.TempDir()
	clientAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	peerAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	e := &Etcd{
		Endpoint:     "http://" + clientAddr,
		DataDir:      filepath.Join(dir, "data"),
		TLS:          pki,
		RootPassword: opts.RootPassword,
		bin:          bin,
		logPath:      filepath.Join(dir, "etcd.log"),
	}
	peerURL := "http://" + peerAddr
	if opts.Snapshot != "" {
		cmd := exec.Command(etcdutl, "snapshot", "restore", opts.Snapshot, "--data-dir", e.DataDir,
			"--name", "default", "--initial-cluster", "default="+peerURL,
			"--initial-advertise-peer-urls", peerURL)
		cmd.Env = withoutEtcdEnv(os.Environ())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("etcdutl snapshot restore %s: %v\n%s", opts.Snapshot, err, out)
		}
	}
	e.args = []string{"--name", "default", "--data-dir", e.DataDir,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default=" + peerURL,
		"--max-request-bytes", fmt.Sprint(etcdMaxRequestBytes),
		"--unsafe-no-fsync", "--log-level", "warn"}
	if pki != nil {
		e.Endpoint = "https://" + clientAddr
		files := map[string][]byte{"ca.pem": pki.CA, "server.pem": pki.ServerCert, "server-key.pem": pki.ServerKey}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				return nil, err
			}
		}
		e.args = append(e.args, "--client-cert-auth",
			"--trusted-ca-file", filepath.Join(dir, "ca.pem"),
			"--cert-file", filepath.Join(dir, "server.pem"),
			"--key-file", filepath.Join(dir, "server-key.pem"))
	}
	e.args = append(e.args, "--listen-client-urls", e.Endpoint, "--advertise-client-urls", e.Endpoint)
	if err := e.start(); err != nil {
		return nil, err
	}
	// Registered after t.TempDir, so it runs before the data is removed.
	t.Cleanup(e.Stop)
	if err := e.waitReady(); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

func (e *Etcd) start() error {
	logFile, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(e.bin, e.args...)
	cmd.Env = withoutEtcdEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", e.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	e.cmd, e.exited = cmd, exited
	return nil
}

// waitReady waits until the member answers a status request.
func (e *Etcd) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := e.ping()
		if err == nil {
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("etcd on %s exited before it was ready: %w\n%s", e.Endpoint, err, e.log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd on %s not ready after 60s: %w\n%s", e.Endpoint, err, e.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *Etcd) ping() error {
	cli, err := e.newClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = cli.Status(ctx, e.Endpoint)
	return err
}

func (e *Etcd) log() string {
	b, _ := os.ReadFile(e.logPath)
	return tail(string(b), 2000)
}

// Stop stops the server (SIGTERM, then SIGKILL after 10s) and waits for it.
// It does nothing when the server is not running.
func (e *Etcd) Stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
	e.cmd = nil
}

// Kill kills the server with SIGKILL, as a crash would, and waits for it.
func (e *Etcd) Kill() error {
	if e.cmd == nil {
		return errors.New("etcd is not running")
	}
	if err := e.cmd.Process.Kill(); err != nil {
		return err
	}
	<-e.exited
	e.cmd = nil
	return nil
}

// Restart starts a stopped or killed server again, on its data directory
// and ports, and waits until it is ready.
func (e *Etcd) Restart() error {
	if e.cmd != nil {
		return errors.New("etcd is running")
	}
	if err := e.start(); err != nil {
		return err
	}
	return e.waitReady()
}

// Client is a client for the server, as root once EnableAuth ran, closed
// when t ends.
func (e *Etcd) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := e.newClient()
	if err != nil {
		t.Fatalf("etcd client for %s: %v", e.Endpoint, err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func (e *Etcd) newClient() (*clientv3.Client, error) {
	cfg := clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if e.RootPassword != "" {
		cfg.Username, cfg.Password = "root", e.RootPassword
	}
	if e.TLS != nil {
		tlsCfg, err := e.TLS.ClientConfig()
		if err != nil {
			return nil, err
		}
		cfg.TLS = tlsCfg
	}
	return clientv3.New(cfg)
}

// EnableAuth creates user root with a HostilePassword and turns
// authentication on.
func (e *Etcd) EnableAuth(t testing.TB) {
	t.Helper()
	password := HostilePassword()
	cli := e.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.UserAdd(ctx, "root", password); err != nil {
		t.Fatalf("etcd user add: %v", err)
	}
	if _, err := cli.UserGrantRole(ctx, "root", "root"); err != nil {
		t.Fatalf("etcd grant role: %v", err)
	}
	if _, err := cli.AuthEnable(ctx); err != nil {
		t.Fatalf("etcd auth enable: %v", err)
	}
	e.RootPassword = password
}

// withoutEtcdEnv drops ETCD_* variables, which etcd and etcdutl read as
// flags, so a developer's settings cannot change the server under test.
func withoutEtcdEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ETCD_") && !strings.HasPrefix(kv, "ETCDCTL_") {
			out = append(out, kv)
		}
	}
	return out
}

// NewEtcdPKI makes a CA, a server certificate for 127.0.0.1 and localhost,
// and a client certificate for user root, valid for a day.
func NewEtcdPKI() (*EtcdPKI, error) {
	caKey, caCert, caPEM, err := newCA("coffer test etcd CA")
	if err != nil {
		return nil, err
	}
	p := &EtcdPKI{CA: caPEM}
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "etcd"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if p.ServerCert, p.ServerKey, err = issue(server, caCert, caKey); err != nil {
		return nil, err
	}
	if p.ClientCert, p.ClientKey, err = NewEtcdClientCert(caCert, caKey, "root"); err != nil {
		return nil, err
	}
	return p, nil
}

// NewEtcdClientCert issues a client certificate for user cn, signed by
// caCert; with a self-made CA it makes a certificate a server must reject.
func NewEtcdClientCert(caCert *x509.Certificate, caKey *ecdsa.PrivateKey, cn string) (certPEM, keyPEM []byte, err error) {
	if caCert == nil {
		if caKey, caCert, _, err = newCA("coffer test stranger CA"); err != nil {
			return nil, nil, err
		}
	}
	client := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return issue(client, caCert, caKey)
}

// ClientConfig is a tls.Config with the CA and root's client certificate.
func (p *EtcdPKI) ClientConfig() (*tls.Config, error) {
	pair, err := tls.X509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CA)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func newCA(cn string) (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// issue signs tmpl with the CA and returns the certificate and a new key.
func issue(tmpl, caCert *x509.Certificate, caKey *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
