package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

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

// etcdMaxRequestBytes lets tests write values of several MiB.
const etcdMaxRequestBytes = 8 << 20

// StartEtcd starts a one-member etcd cluster and stops it, removing its
// data, when t ends.
func StartEtcd(t testing.TB, opts EtcdOptions) *Etcd {
	t.Helper()
	NeedsServer(t, "etcd")
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
		restoreSnapshot(t, etcdutl, opts.Snapshot, e.DataDir, peerURL)
	}
	e.args = []string{"--name", "default", "--data-dir", e.DataDir,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default=" + peerURL,
		"--max-request-bytes", fmt.Sprint(etcdMaxRequestBytes),
		"--unsafe-no-fsync", "--log-level", "warn"}
	if pki != nil {
		e.Endpoint = "https://" + clientAddr
		if err := e.serveTLS(dir, pki); err != nil {
			return nil, err
		}
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

// restoreSnapshot restores snapshot with etcdutl into dataDir, as the data
// of member "default" at peerURL.
func restoreSnapshot(t testing.TB, etcdutl, snapshot, dataDir, peerURL string) {
	t.Helper()
	cmd := exec.Command(etcdutl, "snapshot", "restore", snapshot, "--data-dir", dataDir,
		"--name", "default", "--initial-cluster", "default="+peerURL,
		"--initial-advertise-peer-urls", peerURL)
	cmd.Env = withoutEtcdEnv(os.Environ())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("etcdutl snapshot restore %s: %v\n%s", snapshot, err, out)
	}
}

// serveTLS writes the server's CA, certificate and key into dir and adds
// the flags that serve https and require client certificates.
func (e *Etcd) serveTLS(dir string, pki *EtcdPKI) error {
	files := map[string][]byte{"ca.pem": pki.CA, "server.pem": pki.ServerCert, "server-key.pem": pki.ServerKey}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	e.args = append(e.args, "--client-cert-auth",
		"--trusted-ca-file", filepath.Join(dir, "ca.pem"),
		"--cert-file", filepath.Join(dir, "server.pem"),
		"--key-file", filepath.Join(dir, "server-key.pem"))
	return nil
}
