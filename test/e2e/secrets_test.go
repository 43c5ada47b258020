package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// recordingPATH puts wrappers for the database tools first in PATH: each
// appends its arguments and environment to log, then runs the real tool.
func recordingPATH(t *testing.T, log string, tools ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range tools {
		real, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed", tool)
		}
		script := fmt.Sprintf("#!/bin/sh\n{ echo \"ARGV: $0 $*\"; env; } >> %q\nexec %q \"$@\"\n", log, real)
		if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return "PATH=" + dir + ":" + os.Getenv("PATH")
}

// TestSecretsNeverPrinted: the database password, the S3 secret key and the
// age identity appear in no output, log line, error, child argv or child
// environment — in success and in failure.
func TestSecretsNeverPrinted(t *testing.T) {
	src := myDB(t)
	user, password := randomName("coffer_u_"), "pw-"+randomName("")+"-Sekr3t"
	mysql(t, "", fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, password))
	t.Cleanup(func() {
		exec.Command("mariadb", "-h", "127.0.0.1", "-uroot", "-e", "DROP USER IF EXISTS '"+user+"'@'%'").Run()
	})
	dst := randomName("coffer_e2e_restored_")
	mysql(t, "", fmt.Sprintf("GRANT ALL ON %s.* TO '%s'@'%%'; GRANT ALL ON %s.* TO '%s'@'%%'; GRANT SELECT ON mysql.proc TO '%s'@'%%'; GRANT SET USER ON *.* TO '%s'@'%%'", src, user, dst, user, user, user))
	t.Cleanup(func() { dropMy(dst) })

	s := writeSetup(t, setupOpts{s3: true, targets: []target{{name: "ci", engine: "mysql", db: src, user: user, password: password}}})
	childLog := filepath.Join(t.TempDir(), "children.log")
	path := recordingPATH(t, childLog, "mariadb-dump", "mysqldump", "mariadb", "mysql")
	debug := []string{"--log-level", "debug"}

	var outputs []string
	run := func(wantOK bool, args ...string) {
		r := runner(t, []string{path}, append(args, debug...)...)
		if (r.code == 0) != wantOK {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		outputs = append(outputs, r.stdout, r.stderr)
	}
	run(true, "backup", "-f", s.path)
	run(true, "list", "-f", s.path, "-o", "json")
	run(true, "verify", "-f", s.path, "--backup", "latest")
	run(true, "restore", "-f", s.path, "--backup", "latest", "--into-database", dst)

	// Failure paths print errors: still no secret.
	wrong := writeSetup(t, setupOpts{targets: []target{{name: "ci", engine: "mysql", db: src, user: user, password: password + "x"}}})
	r := runner(t, []string{path}, append([]string{"backup", "-f", wrong.path}, debug...)...)
	if r.code == 0 {
		t.Fatal("backup with a wrong password succeeded")
	}
	if !strings.Contains(r.stderr, `"ci"`) {
		t.Errorf("wrong-password error does not name the target: %s", r.stderr)
	}
	outputs = append(outputs, r.stdout, r.stderr)
	wrong.assertNoSecrets(t, "the wrong-password run", r.stdout+r.stderr)

	for i, out := range outputs {
		s.assertNoSecrets(t, fmt.Sprintf("output %d", i), out)
	}
	children, err := os.ReadFile(childLog)
	if err != nil || !strings.Contains(string(children), "ARGV:") {
		t.Fatalf("the tools were not run through the recording PATH (%v)", err)
	}
	s.assertNoSecrets(t, "a child process's argv or environment", string(children))
	if strings.Contains(string(children), password) {
		t.Fatal("password in child argv/env")
	}
}

// TestConfigErrorsNeverPrintSecrets: a malformed config whose broken
// document holds a password is refused with an error that names the file
// and document but never prints the password, and stays short.
func TestConfigErrorsNeverPrintSecrets(t *testing.T) {
	const password = "Hunter2-very-secret"
	dir := t.TempDir()
	docs := map[string]string{
		"unterminated": "--- {kind: Secret, apiVersion: v1, metadata: {name: pg}, stringData: {password: " + password + "}\n",
		"duplicate":    "apiVersion: v1\nkind: Secret\nmetadata: {name: pg}\nstringData: {password: " + password + ", password: x}\n",
		"huge line":    "apiVersion: v1\nkind: Secret\nmetadata: {name: pg}\nstringData: {password: " + password + strings.Repeat("x", 1<<20) + "\n",
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runner(t, nil, "list", "-f", path)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%.500s", r.code, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, "Hunter2") {
				t.Fatalf("the password is printed:\n%.500s", r.stderr)
			}
			if len(r.stderr) > 2000 || !strings.Contains(r.stderr, filepath.Base(path)) {
				t.Fatalf("error is %d bytes or does not name the file:\n%.500s", len(r.stderr), r.stderr)
			}
		})
	}
}
