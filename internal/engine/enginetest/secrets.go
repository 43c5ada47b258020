package enginetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
)

// passwordStaysSecret round-trips data on a server that checks the
// password, with every tool behind a wrapper that logs its argv, its
// environment and the files in TMPDIR. The password must be in none of
// them; what the engine puts in TMPDIR must be private, and gone afterwards.
func (f fixture) passwordStaysSecret(t *testing.T) {
	f.needRemote(t)
	target := f.remote.PasswordTarget(t)
	secrets := secretValues(target)
	if len(secrets) == 0 {
		t.Fatal("PasswordTarget has no secret")
	}
	logFile := filepath.Join(t.TempDir(), "tools.log")
	wrappers := writeWrappers(t, f.h.Tools(), logFile)
	tmp := t.TempDir()
	t.Setenv("PATH", wrappers+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("TMPDIR", tmp)

	dump, _ := backup(t, f.h, target)
	into := f.h.NewDestination(t, target, false)
	if err := restore(context.Background(), f.h, target, dump, into); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	sameFingerprint(t, f.h.Fingerprint(t, target, engine.RestoreOptions{}), f.h.Fingerprint(t, target, into))

	if len(f.h.Tools()) > 0 {
		log, err := os.ReadFile(logFile)
		if err != nil {
			t.Fatalf("no tool ran through the wrappers: %v", err)
		}
		mustNotLeak(t, "tool argv/env", string(log), secrets)
		checkSecretFiles(t, string(log))
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("files left in TMPDIR after Backup and Restore: %v", left)
	}
}

// writeWrappers puts, for each tool found in PATH, a script of that name in
// a new directory which logs and then execs the real tool.
func writeWrappers(t *testing.T, tools []string, logFile string) string {
	dir := t.TempDir()
	for _, name := range tools {
		real, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		script := fmt.Sprintf(`#!/bin/sh
{
  printf 'tool %%s pid %%s\n' %[1]s "$$"
  for a in "$@"; do printf 'arg %%s\n' "$a"; done
  env | sed 's/^/env /'
  if [ -n "$TMPDIR" ]; then find "$TMPDIR" -mindepth 1 -printf 'tmp %%d %%y %%m %%p\n'; fi
} >> %[2]s
exec %[3]s "$@"
`, shellQuote(name), shellQuote(logFile), shellQuote(real))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// checkSecretFiles reads the wrappers' listings of TMPDIR while tools run.
// Every entry directly in TMPDIR must be private to the owner: a 0700
// directory or a 0600 file, so that nothing below it is open to other
// users. Below that, a tool may keep its work files (a git mirror, say), but
// none may be writable by group or others. And some file must be there: the
// one that carries the credentials.
func checkSecretFiles(t *testing.T, log string) {
	files := 0
	for _, line := range strings.Split(log, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 || fields[0] != "tmp" {
			continue
		}
		depth, kind, mode, path := fields[1], fields[2], fields[3], strings.Join(fields[4:], " ")
		perm, err := strconv.ParseUint(mode, 8, 32)
		if err != nil {
			t.Errorf("listing of %s: bad mode %q", path, mode)
			continue
		}
		switch {
		case depth == "1" && kind == "f" && mode != "600":
			t.Errorf("file %s has mode %s while a tool runs, want 600", path, mode)
		case depth == "1" && kind == "d" && mode != "700":
			t.Errorf("directory %s has mode %s while a tool runs, want 700", path, mode)
		case depth == "1" && kind != "f" && kind != "d":
			t.Errorf("%s is of type %s, want a private file or directory", path, kind)
		case perm&0o022 != 0:
			t.Errorf("%s has mode %s while a tool runs: writable by group or others", path, mode)
		}
		if kind == "f" {
			files++
		}
	}
	if files == 0 {
		t.Error("no tool saw a credentials file in TMPDIR: how does the password reach it?")
	}
}

// secretValues are the target's secret values.
func secretValues(target engine.Target) []string {
	var out []string
	for _, data := range target.Secrets {
		for _, v := range data {
			if len(v) > 0 {
				out = append(out, string(v))
			}
		}
	}
	return out
}

var word = regexp.MustCompile(`[A-Za-z0-9]{8,}`)

// mustNotLeak fails when text holds a secret, or any run of 8 or more
// letters and digits of one (which catches an escaped or quoted copy).
func mustNotLeak(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		needles := append([]string{s}, word.FindAllString(s, -1)...)
		for _, n := range needles {
			if strings.Contains(text, n) {
				t.Errorf("%s contains a secret (or a %d-character run of one)", what, len(n))
				break
			}
		}
	}
}
