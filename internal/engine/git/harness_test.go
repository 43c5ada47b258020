package git_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/git"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// testEnv keeps the tests' own git runs away from the machine's
// configuration, and makes commits reproducible.
var testEnv = []string{
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
	"GIT_AUTHOR_NAME=Coffer Test", "GIT_AUTHOR_EMAIL=test@coffer.dev",
	"GIT_COMMITTER_NAME=Coffer Test", "GIT_COMMITTER_EMAIL=test@coffer.dev",
	"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
}

// run runs git in dir and returns its output.
func run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), testEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %q in %s: %v\n%s", args, dir, err, out)
	}
	return string(out)
}

func needGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		testutil.Unavailable(t, "git (Debian package git)", err)
	}
}

// makeRepo creates a bare repository at path with branches, a merge, tags
// of both kinds, a note, a custom ref, a symbolic link, an executable,
// binary content and a large file.
func makeRepo(t testing.TB, path string) {
	work := t.TempDir()
	run(t, work, "init", "--quiet", "--initial-branch=main", ".")
	write := func(name string, data []byte, mode os.FileMode) {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	large := make([]byte, 3<<20)
	_, _ = mrand.NewChaCha8([32]byte{5}).Read(large)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	write("large.bin", large, 0o644)
	write("bytes.bin", all, 0o644)
	write("Grüße 世界 🎉/quote ' \" back\\slash.txt", []byte("odd name\n"), 0o644)
	write("run.sh", []byte("#!/bin/sh\necho hi\n"), 0o755)
	write("empty", nil, 0o644)
	if err := os.Symlink("bytes.bin", filepath.Join(work, "link")); err != nil {
		t.Fatal(err)
	}
	run(t, work, "add", "--all")
	run(t, work, "commit", "--quiet", "-m", "first\n\nwith a body: ü")
	run(t, work, "tag", "v1")
	run(t, work, "checkout", "--quiet", "-b", "feature/ü")
	write("feature.txt", []byte("feature"), 0o644)
	run(t, work, "add", "--all")
	run(t, work, "commit", "--quiet", "-m", "feature")
	run(t, work, "checkout", "--quiet", "main")
	write("bytes.bin", all[128:], 0o644)
	run(t, work, "commit", "--quiet", "-am", "second")
	run(t, work, "merge", "--quiet", "--no-ff", "-m", "merge", "feature/ü")
	run(t, work, "tag", "-a", "v2", "-m", "annotated tag")
	run(t, work, "notes", "add", "-m", "a note")
	run(t, work, "update-ref", "refs/custom/first", "v1")
	run(t, work, "clone", "--quiet", "--mirror", work, path)
}

// fingerprint describes a repository: its refs, what HEAD names, and every
// object reachable from the refs.
func fingerprint(t testing.TB, path string) string {
	refs := run(t, path, "for-each-ref", "--format=%(objectname) %(refname)")
	head := strings.TrimSpace(run(t, path, "symbolic-ref", "HEAD"))
	objects := strings.Split(strings.TrimSpace(run(t, path, "rev-list", "--objects", "--all")), "\n")
	slices.Sort(objects)
	sum := sha256.Sum256([]byte(strings.Join(objects, "\n")))
	return fmt.Sprintf("%sHEAD -> %s\n%d objects %s", refs, head, len(objects), hex.EncodeToString(sum[:8]))
}

// servers serves the repositories under root by git:// (git daemon, push
// enabled) and by http (git http-backend, basic auth with the token).
type servers struct {
	root    string
	gitPort int
	http    *httptest.Server
	token   string
	// cutAfter, when set, cuts the connection of upload-pack responses
	// after so many bytes.
	cutAfter int
}

func startServers(t testing.TB) *servers {
	testutil.NeedsServer(t, "git daemon and sshd")
	needGit(t)
	execPath := strings.TrimSpace(run(t, "", "--exec-path"))
	s := &servers{root: t.TempDir(), token: testutil.HostilePassword()}

	port, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// The daemon binary itself, not `git daemon`: the suite kills children
	// named git, and only the engine's may be among them.
	daemon := exec.Command(filepath.Join(execPath, "git-daemon"), "--reuseaddr", "--listen=127.0.0.1",
		"--port="+strconv.Itoa(port), "--base-path="+s.root, "--export-all", "--enable=receive-pack", s.root)
	daemon.Env = append(os.Environ(), testEnv...)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = daemon.Process.Kill(); _ = daemon.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("git daemon not listening: %v", err)
		}
	}
	s.gitPort = port

	backend := &cgi.Handler{
		Path: filepath.Join(execPath, "git-http-backend"),
		Env: append([]string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=coffer"},
			testEnv[:2]...),
	}
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); !ok || pw != s.token {
			w.Header().Set("WWW-Authenticate", `Basic realm="coffer"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		if len(r.TransferEncoding) > 0 {
			// CGI needs a length: git sends large pushes chunked.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body, r.ContentLength, r.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
		}
		if s.cutAfter > 0 && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			w = &cuttingWriter{ResponseWriter: w, left: s.cutAfter}
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(s.http.Close)
	return s
}

// cuttingWriter drops the connection after left bytes of the response.
type cuttingWriter struct {
	http.ResponseWriter
	left int
}

func (c *cuttingWriter) Write(p []byte) (int, error) {
	if len(p) > c.left {
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			_, _ = c.ResponseWriter.Write(p[:c.left])
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	c.left -= len(p)
	return c.ResponseWriter.Write(p)
}

// newRepo creates a fixture repository on the servers and returns its name.
func (s *servers) newRepo(t testing.TB) string {
	name := testutil.UniqueName() + ".git"
	makeRepo(t, filepath.Join(s.root, name))
	return name
}

// emptyRepo creates a repository without refs.
func (s *servers) emptyRepo(t testing.TB) string {
	name := testutil.UniqueName() + ".git"
	run(t, s.root, "init", "--quiet", "--bare", name)
	return name
}

func (s *servers) gitURL(name string) string {
	return fmt.Sprintf("git://127.0.0.1:%d/%s", s.gitPort, name)
}

func (s *servers) httpURL(name string) string { return s.http.URL + "/" + name }

func gitTarget(name, url, token string) engine.Target {
	t := engine.Target{
		Spec:      v1alpha1.Target{Name: name, Git: &v1alpha1.GitTarget{URL: url}},
		Namespace: "enginetest",
	}
	if token != "" {
		t.Spec.Git.TokenSecretRef = &v1alpha1.SecretKeySelector{Name: "git", Key: "token"}
		t.Secrets = engine.Secrets{"git": {"token": []byte(token)}}
	}
	return t
}

// harness runs the suite: the source by git://, the password target by
// http with a token, restores into local bare repositories.
type harness struct {
	srv   *servers
	mu    sync.Mutex
	paths map[string]string // target URL → repository directory
}

func newHarness(t *testing.T) *harness {
	return &harness{srv: startServers(t), paths: map[string]string{}}
}

func (h *harness) Engine() engine.Engine { return git.New() }
func (h *harness) Tools() []string       { return []string{"git"} }
func (h *harness) Traits() enginetest.Traits {
	return enginetest.Traits{OfflineRestore: true, ReadsBeforeStreaming: true, NoServerVersion: true}
}

func (h *harness) remember(url, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.paths[url] = filepath.Join(h.srv.root, name)
}

func (h *harness) NewTarget(t *testing.T) engine.Target {
	name := h.srv.newRepo(t)
	url := h.srv.gitURL(name)
	h.remember(url, name)
	return gitTarget("git-main", url, "")
}

func (h *harness) PasswordTarget(t *testing.T) engine.Target {
	name := h.srv.newRepo(t)
	url := h.srv.httpURL(name)
	h.remember(url, name)
	return gitTarget("git-secret", url, h.srv.token)
}

func (h *harness) BadCredentials(t *testing.T) engine.Target {
	name := h.srv.newRepo(t)
	return gitTarget("git-badtoken", h.srv.httpURL(name), testutil.HostilePassword())
}

func (h *harness) Unreachable(t *testing.T) engine.Target {
	return gitTarget("git-nowhere", fmt.Sprintf("git://127.0.0.1:%d/nothing.git", testutil.ClosedPort(t)), "")
}

func (h *harness) NewDestination(t *testing.T, _ engine.Target, create bool) engine.RestoreOptions {
	dir := t.TempDir()
	if create {
		return engine.RestoreOptions{IntoPath: dir}
	}
	return engine.RestoreOptions{IntoPath: filepath.Join(dir, "new", "restored.git")}
}

func (h *harness) Fingerprint(t *testing.T, target engine.Target, dest engine.RestoreOptions) string {
	if dest.IntoPath != "" {
		return fingerprint(t, dest.IntoPath)
	}
	h.mu.Lock()
	path := h.paths[target.Spec.Git.URL]
	h.mu.Unlock()
	return fingerprint(t, path)
}

// Mutate moves a branch, deletes a tag and adds a ref.
func (h *harness) Mutate(t *testing.T, _ engine.Target, dest engine.RestoreOptions) {
	run(t, dest.IntoPath, "update-ref", "refs/heads/main", "v1")
	run(t, dest.IntoPath, "update-ref", "-d", "refs/tags/v2")
	run(t, dest.IntoPath, "update-ref", "refs/heads/added", "v1")
}

func (h *harness) BreakMidStream(context.Context, engine.Target) error {
	return errors.New("not used: git clones before it streams")
}

var _ enginetest.Remote = (*harness)(nil)

// backup runs Backup and fails the test on an error.
func backup(t *testing.T, target engine.Target) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := git.New().Backup(context.Background(), target, &buf); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return buf.Bytes()
}
