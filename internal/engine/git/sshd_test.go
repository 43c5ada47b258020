package git_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/git"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// sshd is an OpenSSH server on a loopback port, private to one test.
type sshd struct {
	port       int
	hostKeyPub string
	clientKey  []byte
}

// startSSHD runs Debian's sshd (package openssh-server) with a config of its
// own: a fresh host key, one authorized client key, no passwords.
func startSSHD(t *testing.T) *sshd {
	t.Helper()
	bin, err := exec.LookPath("sshd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/sshd"); serr != nil {
			testutil.Unavailable(t, "sshd (Debian package openssh-server)", err)
		}
		bin = "/usr/sbin/sshd"
	}
	if os.Geteuid() != 0 {
		t.Skip("sshd needs root to authenticate users")
	}
	dir := t.TempDir()
	keygen := func(name string) {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, name)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	keygen("host")
	keygen("client")
	pub, _ := os.ReadFile(filepath.Join(dir, "client.pub"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/host
AuthorizedKeysFile %s/authorized_keys
PidFile %s/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
LogLevel ERROR
`, port, dir, dir, dir)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600)
	os.MkdirAll("/run/sshd", 0o755) // privilege separation directory
	cmd := exec.Command(bin, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		testutil.Unavailable(t, "sshd", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			testutil.Unavailable(t, "sshd", fmt.Errorf("not listening: %s", logs.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	hostPub, _ := os.ReadFile(filepath.Join(dir, "host.pub"))
	key, _ := os.ReadFile(filepath.Join(dir, "client"))
	return &sshd{port: port, hostKeyPub: strings.TrimSpace(string(hostPub)), clientKey: key}
}

func (s *sshd) knownHosts() []byte {
	fields := strings.Fields(s.hostKeyPub)
	return []byte(fmt.Sprintf("[127.0.0.1]:%d %s %s\n", s.port, fields[0], fields[1]))
}

func sshTarget(name, url string, key, knownHosts []byte) engine.Target {
	t := gitTarget(name, url, "")
	t.Spec.Git.SSHKeySecretRef = &v1alpha1.SecretKeySelector{Name: "ssh", Key: "key"}
	t.Spec.Git.KnownHostsSecretRef = &v1alpha1.SecretKeySelector{Name: "ssh", Key: "known_hosts"}
	t.Secrets = engine.Secrets{"ssh": {"key": key, "known_hosts": knownHosts}}
	return t
}

// TestOverLiveSSHD: a real OpenSSH handshake with the key from the Secret
// and the pinned host key; a host key that does not match is refused.
func TestOverLiveSSHD(t *testing.T) {
	needGit(t)
	s := startSSHD(t)
	srv := startServers(t)
	name := srv.newRepo(t)
	url := fmt.Sprintf("ssh://root@127.0.0.1:%d%s", s.port, filepath.Join(srv.root, name))

	bundle := backup(t, sshTarget("git-sshd", url, s.clientKey, s.knownHosts()))
	into := filepath.Join(t.TempDir(), "restored.git")
	if err := git.New().Restore(context.Background(), sshTarget("git-sshd", url, s.clientKey, s.knownHosts()), bytes.NewReader(bundle), engine.RestoreOptions{IntoPath: into}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got, want := fingerprint(t, into), fingerprint(t, filepath.Join(srv.root, name)); got != want {
		t.Fatalf("restored:\n%s\nwant\n%s", got, want)
	}

	other := startSSHD(t) // another host key
	_, err := git.New().Backup(context.Background(), sshTarget("git-mitm", url, s.clientKey, other.knownHosts()), &bytes.Buffer{})
	if err == nil {
		t.Fatal("a server whose host key is not pinned was accepted")
	}
	if !strings.Contains(err.Error(), `"git-mitm"`) || strings.Contains(err.Error(), string(s.clientKey[40:80])) {
		t.Fatalf("error must name the target and not quote the key: %v", err)
	}
}
