package etcd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/etcd"
	"github.com/coffer-dev/coffer/internal/testutil"
)

func TestConformance(t *testing.T) {
	enginetest.Run(t, newHarness())
}

func backup(t *testing.T, target engine.Target) ([]byte, engine.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	res, err := etcd.New().Backup(ctx, target, &buf)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return buf.Bytes(), res
}

// restoreAndFingerprint restores dump with the engine, then with etcdutl
// into a new member, and returns that member's fingerprint.
func restoreAndFingerprint(t *testing.T, target engine.Target, dump []byte, rootPassword string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "restored.db")
	err := etcd.New().Restore(context.Background(), target, bytes.NewReader(dump), engine.RestoreOptions{IntoPath: path})
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	restored := testutil.StartEtcd(t, testutil.EtcdOptions{Snapshot: path, RootPassword: rootPassword})
	defer restored.Stop()
	return fingerprint(t, restored.Client(t))
}

// tlsTarget points at s with the CA, client certificate and key in Secrets.
func tlsTarget(name string, s *testutil.Etcd, ca, cert, key []byte) engine.Target {
	target := etcdTarget(name, s)
	spec := target.Spec.Etcd // a new block: etcdTarget makes one per call
	target.Secrets = engine.Secrets{"etcd-tls": {}}
	for k, v := range map[string][]byte{"ca.crt": ca, "tls.crt": cert, "tls.key": key} {
		if v == nil {
			continue
		}
		target.Secrets["etcd-tls"][k] = v
		ref := &v1alpha1.SecretKeySelector{Name: "etcd-tls", Key: k}
		switch k {
		case "ca.crt":
			spec.CASecretRef = ref
		case "tls.crt":
			spec.CertSecretRef = ref
		case "tls.key":
			spec.KeySecretRef = ref
		}
	}
	return target
}

// TestTLSRoundTrip: client certificates from Secrets, with nothing
// written to disk, and a snapshot that restores with etcdutl.
func TestTLSRoundTrip(t *testing.T) {
	s := testutil.StartEtcd(t, testutil.EtcdOptions{TLS: true})
	fill(t, s.Client(t))
	target := tlsTarget("etcd-tls", s, s.TLS.CA, s.TLS.ClientCert, s.TLS.ClientKey)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	dump, res := backup(t, target)
	if res.ServerVersion == "" || !strings.Contains(res.ToolVersion, "client/v3") {
		t.Errorf("Result = %+v, want a server version and the client library", res)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("Backup left files in TMPDIR: %v", left)
	}
	want := fingerprint(t, s.Client(t))
	if got := restoreAndFingerprint(t, target, dump, ""); got != want {
		t.Fatalf("restored cluster differs from the source:\n--- source\n%s\n--- restored\n%s", want, got)
	}
}

// TestBackupFails: every way of not getting in fails the backup, naming
// the target and never quoting a secret.
func TestBackupFails(t *testing.T) {
	plain := testutil.StartEtcd(t, testutil.EtcdOptions{})
	plain.EnableAuth(t)
	secure := testutil.StartEtcd(t, testutil.EtcdOptions{TLS: true})
	strangerCert, strangerKey, err := testutil.NewEtcdClientCert(nil, nil, "root")
	if err != nil {
		t.Fatal(err)
	}
	otherPKI, err := testutil.NewEtcdPKI()
	if err != nil {
		t.Fatal(err)
	}
	closed := etcdTarget("etcd-nowhere", plain)
	closed.Spec.Etcd.Endpoints = []string{fmt.Sprintf("http://127.0.0.1:%d", testutil.ClosedPort(t))}
	tls := secure.TLS
	tests := map[string]struct {
		target engine.Target
		want   string
	}{
		"wrong password":           {withPassword(etcdTarget("etcd-pw", plain), testutil.HostilePassword()), "authentication failed"},
		"no password with auth on": {etcdTarget("etcd-nopw", plain), "user name is empty"},
		// The server refuses the handshake; which side notices first decides
		// whether the client sees the TLS alert or the hang-up.
		"client cert of another CA":   {tlsTarget("etcd-stranger", secure, tls.CA, strangerCert, strangerKey), "certificate|broken pipe|connection reset"},
		"no client certificate":       {tlsTarget("etcd-nocert", secure, tls.CA, nil, nil), "certificate|broken pipe|connection reset"},
		"server cert not trusted":     {tlsTarget("etcd-untrusted", secure, otherPKI.CA, tls.ClientCert, tls.ClientKey), "unknown authority"},
		"plain client on TLS server":  {etcdTarget("etcd-plain", secure), "unknown authority"},
		"unreachable":                 {closed, "connection refused"},
		"unreachable, with password":  {withPassword(closed, "pw-is-not-checked"), "connection refused"},
		"key that is not a key":       {tlsTarget("etcd-badkey", secure, tls.CA, tls.ClientCert, []byte("not a key")), "client certificate and key"},
		"certificate without its key": {tlsTarget("etcd-halfpair", secure, tls.CA, tls.ClientCert, nil), "needs its key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			_, err := (&etcd.Engine{ConnectTimeout: 2 * time.Second}).Backup(ctx, tc.target, io.Discard)
			if err == nil {
				t.Fatal("Backup succeeded")
			}
			t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if !strings.Contains(err.Error(), `"`+tc.target.Name()+`"`) {
				t.Errorf("error does not name the target")
			}
			if !containsAny(err.Error(), strings.Split(tc.want, "|")) {
				t.Errorf("error does not say %q", tc.want)
			}
			mustNotLeak(t, err.Error(), tc.target)
		})
	}
}

// mustNotLeak fails when text holds a secret value of target, or a run of
// 12 characters of one.
func mustNotLeak(t *testing.T, text string, target engine.Target) {
	t.Helper()
	for _, data := range target.Secrets {
		for key, v := range data {
			if key == "ca.crt" || key == "tls.crt" {
				continue // certificates are public
			}
			s := string(v)
			for i := 0; i+12 <= len(s); i += 6 {
				if strings.Contains(text, s[i:i+12]) {
					t.Errorf("%q contains part of secret %s", text, key)
					break
				}
			}
		}
	}
}

// TestMembers: a dead member is skipped for the next; when all are dead,
// the error names each.
func TestMembers(t *testing.T) {
	s := testutil.StartEtcd(t, testutil.EtcdOptions{})
	fill(t, s.Client(t))
	dead := fmt.Sprintf("http://127.0.0.1:%d", testutil.ClosedPort(t))
	e := &etcd.Engine{ConnectTimeout: 3 * time.Second}

	target := etcdTarget("etcd-two", s)
	target.Spec.Etcd.Endpoints = []string{dead, s.Endpoint}
	var buf bytes.Buffer
	if _, err := e.Backup(context.Background(), target, &buf); err != nil {
		t.Fatalf("Backup with a dead first member: %v", err)
	}

	other := fmt.Sprintf("http://127.0.0.1:%d", testutil.ClosedPort(t))
	target.Spec.Etcd.Endpoints = []string{dead, other}
	_, err := e.Backup(context.Background(), target, io.Discard)
	if err == nil {
		t.Fatal("Backup with no live member succeeded")
	}
	for _, ep := range []string{dead, other} {
		if !strings.Contains(err.Error(), ep) {
			t.Errorf("error does not name %s: %v", ep, err)
		}
	}
}

// TestServerDiesMidStream: the server is killed while the snapshot of a
// large keyspace streams, and stays dead.
func TestServerDiesMidStream(t *testing.T) {
	s := testutil.StartEtcd(t, testutil.EtcdOptions{})
	fill(t, s.Client(t))
	var killErr error
	w := &hookWriter{hook: func() { killErr = s.Kill() }}
	_, err := etcd.New().Backup(context.Background(), etcdTarget("etcd-dies", s), w)
	if killErr != nil {
		t.Fatal(killErr)
	}
	if err == nil {
		t.Fatalf("Backup succeeded although the server died after %d bytes", w.n)
	}
	t.Logf("after %d bytes: %v", w.n, err)
}

// hookWriter discards what it gets, calling hook on the first write.
type hookWriter struct {
	hook func()
	n    int
}

func (w *hookWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		w.hook()
	}
	w.n += len(p)
	return len(p), nil
}

// TestRestoreDestination: where a snapshot may be written, and that a
// refused or failed restore leaves the destination as it was.
func TestRestoreDestination(t *testing.T) {
	s := testutil.StartEtcd(t, testutil.EtcdOptions{})
	target := etcdTarget("etcd-dest", s)
	dump, _ := backup(t, target)
	truncated := dump[:len(dump)-4096]
	corrupted := bytes.Clone(dump)
	corrupted[len(corrupted)/2] ^= 1
	old := []byte("the snapshot of yesterday")

	tests := map[string]struct {
		existing []byte // nil: no file; the destination is a directory when dir is set
		dir      bool
		dump     []byte
		clean    bool
		wantErr  error  // errors.Is
		wantText string // in the error
	}{
		"new file":                 {dump: dump},
		"empty file":               {existing: []byte{}, dump: dump},
		"file holds a snapshot":    {existing: old, dump: dump, wantErr: engine.ErrNotEmpty},
		"clean replaces":           {existing: old, dump: dump, clean: true},
		"directory":                {dir: true, dump: dump, wantText: "directory"},
		"truncated snapshot":       {existing: old, dump: truncated, clean: true, wantErr: etcd.ErrBadSnapshot},
		"corrupted snapshot":       {dump: corrupted, wantErr: etcd.ErrBadSnapshot},
		"not a snapshot":           {dump: []byte("hello"), wantErr: etcd.ErrBadSnapshot},
		"no path (own location)":   {wantText: "etcdutl snapshot restore"},
		"empty snapshot, new file": {dump: []byte{}, wantErr: etcd.ErrBadSnapshot},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "snap.db")
			switch {
			case tc.dir:
				path = dir
			case tc.existing != nil:
				if err := os.WriteFile(path, tc.existing, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			opts := engine.RestoreOptions{IntoPath: path, Clean: tc.clean}
			if name == "no path (own location)" {
				opts.IntoPath = ""
			}
			err := etcd.New().Restore(context.Background(), target, bytes.NewReader(tc.dump), opts)
			failed := tc.wantErr != nil || tc.wantText != ""
			switch {
			case !failed && err != nil:
				t.Fatalf("Restore: %v", err)
			case failed && err == nil:
				t.Fatal("Restore succeeded")
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			case !strings.Contains(fmt.Sprint(err), tc.wantText):
				t.Fatalf("error = %v, want it to say %q", err, tc.wantText)
			case failed && !strings.Contains(err.Error(), `"etcd-dest"`):
				t.Errorf("error does not name the target: %v", err)
			}
			if tc.dir || opts.IntoPath == "" {
				return
			}
			got, readErr := os.ReadFile(path)
			switch {
			case failed && tc.existing == nil && readErr == nil:
				t.Errorf("a failed restore created %s", path)
			case failed && tc.existing != nil && !bytes.Equal(got, tc.existing):
				t.Errorf("a failed restore changed %s", path)
			case !failed && !bytes.Equal(got, tc.dump):
				t.Errorf("%s does not hold the snapshot", path)
			}
			if !failed {
				if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
					t.Errorf("mode %v, want 0600", info.Mode().Perm())
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 1 || (len(entries) == 1 && entries[0].Name() != "snap.db") {
				t.Errorf("files left next to the destination: %v", entries)
			}
		})
	}
}

// TestSecretsStayOut: with a password and a client key in play, nothing
// the process prints or logs, and no error, carries them. No tool runs, so
// there is no argv or child environment to check; the process's own
// environment is checked all the same.
func TestSecretsStayOut(t *testing.T) {
	plain := testutil.StartEtcd(t, testutil.EtcdOptions{})
	plain.EnableAuth(t)
	secure := testutil.StartEtcd(t, testutil.EtcdOptions{TLS: true})
	good := withPassword(etcdTarget("etcd-pw", plain), plain.RootPassword)
	bad := withPassword(etcdTarget("etcd-badpw", plain), testutil.HostilePassword())
	tlsT := tlsTarget("etcd-tls", secure, secure.TLS.CA, secure.TLS.ClientCert, secure.TLS.ClientKey)

	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)
	stderr := captureStderr(t)

	var errs []string
	for _, target := range []engine.Target{good, bad, tlsT} {
		dump, err := (&etcd.Engine{ConnectTimeout: 5 * time.Second}).Backup(context.Background(), target, io.Discard)
		_ = dump
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	printed := stderr()
	if len(errs) != 1 {
		t.Errorf("want exactly the bad password to fail, got %q", errs)
	}
	text := strings.Join(errs, "\n") + logs.String() + printed + strings.Join(os.Environ(), "\n")
	for _, target := range []engine.Target{good, bad, tlsT} {
		mustNotLeak(t, text, target)
	}
}

// captureStderr sends file descriptor 2 to a pipe until the returned
// function is called, which returns what was written: libraries may hold
// their own copy of os.Stderr, but they all write to descriptor 2.
func captureStderr(t *testing.T) func() string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	return func() string {
		_ = syscall.Dup3(saved, 2, 0)
		_ = syscall.Close(saved)
		_ = w.Close()
		return <-done
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
