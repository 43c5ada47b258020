package git_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/git"
)

func TestConformance(t *testing.T) {
	enginetest.Run(t, newHarness(t))
}

// TestConnectionLostWhileCloning: the server drops the connection in the
// middle of the pack; the backup fails, naming the target, and writes
// nothing.
func TestConnectionLostWhileCloning(t *testing.T) {
	srv := startServers(t)
	srv.cutAfter = 1 << 20
	target := gitTarget("git-cut", srv.httpURL(srv.newRepo(t)), srv.token)
	var out bytes.Buffer
	_, err := git.New().Backup(context.Background(), target, &out)
	if err == nil {
		t.Fatal("Backup succeeded although the server cut the connection")
	}
	if !strings.Contains(err.Error(), `"git-cut"`) || strings.Contains(err.Error(), srv.token) {
		t.Errorf("error does not name the target, or leaks the token: %v", err)
	}
	if out.Len() > 0 {
		t.Errorf("Backup wrote %d bytes", out.Len())
	}
	t.Logf("Backup failed as it should: %v", err)
}

// TestPushToRemote restores by pushing: into an empty remote repository,
// refused into one with refs, accepted there with Clean; with the token
// from the target, over http.
func TestPushToRemote(t *testing.T) {
	srv := startServers(t)
	source := gitTarget("git-src", srv.httpURL(srv.newRepo(t)), srv.token)
	bundle := backup(t, source)
	want := fingerprint(t, filepath.Join(srv.root, strings.TrimPrefix(source.Spec.Git.URL, srv.http.URL+"/")))
	restore := func(dest string, clean bool) error {
		return git.New().Restore(context.Background(), source, bytes.NewReader(bundle),
			engine.RestoreOptions{IntoPath: dest, Clean: clean})
	}
	empty := srv.emptyRepo(t)
	if err := restore(srv.httpURL(empty), false); err != nil {
		t.Fatalf("Restore into an empty remote: %v", err)
	}
	// A pushed repository keeps its own HEAD: compare the refs and objects.
	got := fingerprint(t, filepath.Join(srv.root, empty))
	if refsAndObjects(got) != refsAndObjects(want) {
		t.Fatalf("pushed repository differs:\n%s\nwant\n%s", got, want)
	}
	run(t, filepath.Join(srv.root, empty), "update-ref", "refs/heads/main", "v1")
	err := restore(srv.httpURL(empty), false)
	if !errors.Is(err, engine.ErrNotEmpty) {
		t.Fatalf("Restore into a remote with refs: error = %v, want ErrNotEmpty", err)
	}
	if err := restore(srv.httpURL(empty), true); err != nil {
		t.Fatalf("Restore with Clean: %v", err)
	}
	if got := fingerprint(t, filepath.Join(srv.root, empty)); refsAndObjects(got) != refsAndObjects(want) {
		t.Fatalf("after Clean:\n%s\nwant\n%s", got, want)
	}
	bad := gitTarget("git-src", source.Spec.Git.URL, "wrong token")
	err = git.New().Restore(context.Background(), bad, bytes.NewReader(bundle), engine.RestoreOptions{IntoPath: srv.httpURL(srv.emptyRepo(t))})
	if err == nil || !strings.Contains(err.Error(), `"git-src"`) || strings.Contains(err.Error(), "wrong token") {
		t.Fatalf("Restore with a wrong token: error = %v", err)
	}
}

func refsAndObjects(fp string) string {
	var keep []string
	for _, l := range strings.Split(fp, "\n") {
		if !strings.HasPrefix(l, "HEAD -> ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestOverSSH runs backup and push-restore over ssh, through a stand-in for
// ssh that checks what the engine asks of it (strict host keys, a 0600 key
// file, pinned known hosts), then runs the git command locally.
func TestOverSSH(t *testing.T) {
	srv := startServers(t)
	bin := t.TempDir()
	logFile := filepath.Join(t.TempDir(), "ssh.log")
	script := `#!/bin/sh
printf 'argv %s\n' "$*" >> ` + logFile + `
key= kh= strict=
while [ $# -gt 1 ]; do
  case "$1" in
    -i) key=$2; shift 2 ;;
    -o) case "$2" in
          StrictHostKeyChecking=yes) strict=1 ;;
          UserKnownHostsFile=*) kh=${2#UserKnownHostsFile=} ;;
        esac
        shift 2 ;;
    -F|-p) shift 2 ;;
    *) shift ;;
  esac
done
[ -n "$strict" ] || { echo "fake ssh: no StrictHostKeyChecking=yes" >&2; exit 1; }
[ "$(stat -c %a "$key")" = 600 ] || { echo "fake ssh: key file $key not 0600" >&2; exit 1; }
grep -q 'fakehost ssh-ed25519' "$kh" || { echo "fake ssh: known_hosts not pinned" >&2; exit 1; }
grep -q 'FAKE PRIVATE KEY' "$key" || { echo "fake ssh: not the key" >&2; exit 1; }
exec sh -c "$1"
`
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE PRIVATE KEY s3cretkeymaterial\n-----END OPENSSH PRIVATE KEY-----"
	name := srv.newRepo(t)
	target := gitTarget("git-ssh", "ssh://git@fakehost"+filepath.Join(srv.root, name), "")
	target.Spec.Git.SSHKeySecretRef = &v1alpha1.SecretKeySelector{Name: "ssh", Key: "key"}
	target.Spec.Git.KnownHostsSecretRef = &v1alpha1.SecretKeySelector{Name: "ssh", Key: "known_hosts"}
	target.Secrets = engine.Secrets{"ssh": {"key": []byte(key), "known_hosts": []byte("fakehost ssh-ed25519 AAAAfake\n")}}

	bundle := backup(t, target)
	into := filepath.Join(t.TempDir(), "restored.git")
	if err := git.New().Restore(context.Background(), target, bytes.NewReader(bundle), engine.RestoreOptions{IntoPath: into}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	want := fingerprint(t, filepath.Join(srv.root, name))
	if got := fingerprint(t, into); got != want {
		t.Fatalf("restored:\n%s\nwant\n%s", got, want)
	}
	empty := srv.emptyRepo(t)
	err := git.New().Restore(context.Background(), target, bytes.NewReader(bundle),
		engine.RestoreOptions{IntoPath: "ssh://git@fakehost" + filepath.Join(srv.root, empty)})
	if err != nil {
		t.Fatalf("Restore by push over ssh: %v", err)
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), "s3cretkeymaterial") {
		t.Error("the key reached ssh's arguments")
	}
	if !strings.Contains(string(log), "git-receive-pack") {
		t.Errorf("no push went through ssh:\n%s", log)
	}
}

// TestLocalPath backs up a repository named by its path.
func TestLocalPath(t *testing.T) {
	needGit(t)
	src := filepath.Join(t.TempDir(), "src.git")
	makeRepo(t, src)
	bundle := backup(t, gitTarget("git-local", src, ""))
	// The bundle is the standard format: git itself clones from it.
	file := filepath.Join(t.TempDir(), "backup.bundle")
	if err := os.WriteFile(file, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	cloned := filepath.Join(t.TempDir(), "cloned.git")
	run(t, "", "clone", "--quiet", "--mirror", file, cloned)
	if got, want := refsAndObjects(fingerprint(t, cloned)), refsAndObjects(fingerprint(t, src)); got != want {
		t.Fatalf("git clone of the bundle:\n%s\nwant\n%s", got, want)
	}
}

// TestRefusesOtherFiles: a directory holding something other than a
// repository is never overwritten, Clean or not.
func TestRefusesOtherFiles(t *testing.T) {
	needGit(t)
	src := filepath.Join(t.TempDir(), "src.git")
	makeRepo(t, src)
	target := gitTarget("git-local", src, "")
	bundle := backup(t, target)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, clean := range []bool{false, true} {
		err := git.New().Restore(context.Background(), target, bytes.NewReader(bundle), engine.RestoreOptions{IntoPath: dir, Clean: clean})
		if err == nil || errors.Is(err, engine.ErrNotEmpty) != !clean {
			t.Errorf("Clean %v: error = %v", clean, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "precious")); err != nil || string(b) != "x" {
		t.Errorf("precious file touched: %q %v", b, err)
	}
}

// TestFailedRestoreLeavesNothing: a broken bundle leaves no half-built
// repository behind.
func TestFailedRestoreLeavesNothing(t *testing.T) {
	needGit(t)
	src := filepath.Join(t.TempDir(), "src.git")
	makeRepo(t, src)
	target := gitTarget("git-local", src, "")
	bundle := backup(t, target)
	for name, data := range map[string][]byte{
		"truncated":    bundle[:len(bundle)/2],
		"not a bundle": []byte("# v9 not a bundle\n"),
	} {
		t.Run(name, func(t *testing.T) {
			into := filepath.Join(t.TempDir(), "restored.git")
			err := git.New().Restore(context.Background(), target, bytes.NewReader(data), engine.RestoreOptions{IntoPath: into})
			if err == nil {
				t.Fatal("Restore succeeded")
			}
			if _, err := os.Stat(into); !os.IsNotExist(err) {
				t.Errorf("%s left behind (%v)", into, err)
			}
		})
	}
}

func TestToolMissingNamesPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := git.New().Backup(context.Background(), gitTarget("g", "https://example.invalid/x.git", ""), io.Discard)
	if !errors.Is(err, engine.ErrToolMissing) || !strings.Contains(err.Error(), "Debian package git") {
		t.Fatalf("error = %v", err)
	}
}
