// Package e2e drives coffer-runner the way a user does: a config file, the
// built binary, real PostgreSQL, MariaDB and MinIO, and the age/zstd CLIs.
package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// runnerBin is the coffer-runner built once for this test binary.
var runnerBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("end-to-end tests need real servers: skipped under -short")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "coffer-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runnerBin = filepath.Join(dir, "coffer-runner")
	build := exec.Command("go", "build", "-o", runnerBin, "./cmd/coffer-runner")
	build.Dir = testutil.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building coffer-runner: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one finished coffer-runner invocation.
type result struct {
	stdout, stderr string
	code           int
}

// runner runs coffer-runner with args and the given extra environment.
func runner(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(runnerBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running coffer-runner: %v", err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// mustRun runs coffer-runner and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := runner(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("coffer-runner %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// keyPair makes an age identity.
func keyPair(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func randomName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// sh runs a shell pipeline and returns its stdout.
func sh(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-o", "pipefail", "-c", script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, errb.String())
	}
	return out.String()
}

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		testutil.Unavailable(t, name, err)
	}
}
