package tool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
)

func sh(t *testing.T) string {
	t.Helper()
	path, err := Find("dash", "sh")
	if err != nil {
		t.Skip(err)
	}
	return path
}

func TestFind(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Find("some-package", "no-such-tool", "nor-this")
	if !errors.Is(err, engine.ErrToolMissing) {
		t.Fatalf("Find() error = %v, want ErrToolMissing", err)
	}
	for _, want := range []string{"some-package", "no-such-tool or nor-this"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestRun(t *testing.T) {
	errBoom := errors.New("boom")
	tests := map[string]struct {
		script  string
		stdin   io.Reader
		stdout  io.Writer
		wantErr error  // wrapped, when set
		wantMsg string // in the message, when set
	}{
		"success":          {script: "cat", stdin: strings.NewReader("x"), stdout: io.Discard},
		"exit status":      {script: "echo 'it broke: s3cret' >&2; exit 3", wantMsg: "exit status 3: it broke: [redacted]"},
		"writer fails":     {script: "yes", stdout: &failAfter{n: 1 << 16, err: errBoom}, wantErr: errBoom},
		"reader fails":     {script: "cat >/dev/null", stdin: io.MultiReader(strings.NewReader("abc"), &failAfter{err: errBoom}), wantErr: errBoom},
		"signal":           {script: "kill -9 $$", wantMsg: "killed"},
		"drains on exit 0": {script: "head -c 1 >/dev/null", stdin: strings.NewReader(strings.Repeat("x", 1<<20))},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cmd := Cmd{Path: sh(t), Args: []string{"-c", tc.script}, Stdin: tc.stdin, Stdout: tc.stdout, Secrets: []string{"s3cret"}}
			err := cmd.Run(context.Background())
			switch {
			case tc.wantErr == nil && tc.wantMsg == "" && err != nil:
				t.Fatalf("Run: %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Run error = %v, want it to wrap %v", err, tc.wantErr)
			case tc.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.wantMsg)):
				t.Fatalf("Run error = %v, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Cmd{Path: sh(t), Args: []string{"-c", "sleep 60"}}.Run(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run error = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Run returned after %v", d)
	}
}

func TestRunEnvironment(t *testing.T) {
	t.Setenv("COFFER_KEEP", "kept")
	t.Setenv("COFFER_DROP", "dropped")
	t.Setenv("COFFER_SET", "old")
	var out bytes.Buffer
	cmd := Cmd{
		Path: sh(t), Args: []string{"-c", `echo "$COFFER_KEEP,${COFFER_DROP-unset},$COFFER_SET"`},
		Env: []string{"COFFER_SET=new"}, Unset: []string{"COFFER_DROP"}, Stdout: &out,
	}
	if err := cmd.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "kept,unset,new" {
		t.Errorf("child saw %q, want kept,unset,new", got)
	}
}

func TestTail(t *testing.T) {
	tests := map[string]struct {
		writes []string
		limit  int
		want   string
	}{
		"short":              {writes: []string{"a\n", "b"}, limit: 10, want: "a\nb"},
		"cut drops partial":  {writes: []string{"first line\n", "second\n", "third"}, limit: 14, want: "second\nthird"},
		"scrubbed":           {writes: []string{"password pw123 rejected"}, limit: 100, want: "password [redacted] rejected"},
		"cut without a line": {writes: []string{"0123456789"}, limit: 5, want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tl := newTail(tc.limit)
			for _, w := range tc.writes {
				_, _ = tl.Write([]byte(w))
			}
			if got := tl.String([]string{"pw123"}); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSecretDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	d, err := NewSecretDir()
	if err != nil {
		t.Fatal(err)
	}
	path, err := d.WriteFile("pw", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{filepath.Dir(path): 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	if _, err := d.WriteFile("pw", []byte("y")); err == nil {
		t.Error("WriteFile overwrote an existing file")
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("directory still there after Remove: %v", err)
	}
}

func TestRedact(t *testing.T) {
	base := errors.New("auth failed for s3cret")
	err := Redact(base, "s3cret")
	if strings.Contains(err.Error(), "s3cret") || !errors.Is(err, base) {
		t.Errorf("Redact() = %v (Is base: %v)", err, errors.Is(err, base))
	}
	if Redact(nil, "x") != nil {
		t.Error("Redact(nil) != nil")
	}
}

// failAfter accepts (or yields) n bytes, then fails with err.
type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, f.err
	}
	f.n -= len(p)
	return len(p), nil
}

func (f *failAfter) Read(p []byte) (int, error) { return 0, f.err }
