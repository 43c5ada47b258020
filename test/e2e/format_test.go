package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestRestoreWithoutCoffer runs the commands of docs/format.md: the stored
// objects restore with age, zstd and pg_restore/mariadb alone, and their
// checksums match the manifest.
func TestRestoreWithoutCoffer(t *testing.T) {
	for _, tool := range []string{"age", "zstd", "pg_restore", "sha256sum"} {
		requireTool(t, tool)
	}
	pg, my := pgDB(t, true), myDB(t)
	s := writeSetup(t, setupOpts{targets: []target{
		{name: "main", engine: "postgres", db: pg},
		{name: "ci", engine: "mysql", db: my},
	}})
	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	dir := filepath.Join(s.storageDir, "e2e", "shop", id)
	key := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(key, []byte(s.identity.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var m struct {
		Targets []struct{ Name, Object, SHA256, PlainSHA256 string } `json:"targets"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, tg := range m.Targets {
		obj := filepath.Join(s.storageDir, filepath.FromSlash(tg.Object))
		if got := strings.Fields(sh(t, "sha256sum "+obj))[0]; got != tg.SHA256 {
			t.Errorf("%s: sha256sum %s, manifest %s", tg.Name, got, tg.SHA256)
		}
		if got := strings.Fields(sh(t, "age -d -i "+key+" "+obj+" | zstd -d | sha256sum"))[0]; got != tg.PlainSHA256 {
			t.Errorf("%s: plain sha256 %s, manifest %s", tg.Name, got, tg.PlainSHA256)
		}
	}

	pgDst := randomName("coffer_e2e_byhand_")
	t.Cleanup(func() { dropPG(pgDst) })
	sh(t, "createdb -h 127.0.0.1 -U postgres "+pgDst)
	sh(t, "age -d -i "+key+" "+filepath.Join(dir, "main.pgdump.zst.age")+" | zstd -d | pg_restore --no-owner --exit-on-error -h 127.0.0.1 -U postgres -d "+pgDst)
	if got, want := pgFingerprint(t, pgDst), pgFingerprint(t, pg); got != want {
		t.Fatalf("by-hand PostgreSQL restore differs:\n%s\n---\n%s", want, got)
	}

	myDst := randomName("coffer_e2e_byhand_")
	t.Cleanup(func() { dropMy(myDst) })
	mysql(t, "", "CREATE DATABASE "+myDst)
	sh(t, "age -d -i "+key+" "+filepath.Join(dir, "ci.sql.zst.age")+" | zstd -d | mariadb -h 127.0.0.1 -P 3306 -u root "+myDst)
	if got, want := myFingerprint(t, myDst), myFingerprint(t, my); got != want {
		t.Fatalf("by-hand MariaDB restore differs:\n%s\n---\n%s", want, got)
	}
}

// streamFunction is the stream() function of docs/format.md's format 2
// section, verbatim: the test runs what the page shows.
func streamFunction(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "docs", "format.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "stream() {\n")
	end := strings.Index(text[max(start, 0):], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("docs/format.md has no stream() function")
	}
	return text[start : start+end+3]
}

// TestRestoreWithoutCofferChunked runs docs/format.md's loop for format 2:
// jq lists a target's chunks, age and zstd open each, in order, into
// wc -c, pg_restore and mariadb; a second backup shares chunks with the
// first and restores the same way.
func TestRestoreWithoutCofferChunked(t *testing.T) {
	for _, tool := range []string{"age", "zstd", "jq", "pg_restore", "mariadb", "wc"} {
		requireTool(t, tool)
	}
	pg, my := pgDB(t, true), myDB(t)
	s := writeSetup(t, setupOpts{chunked: true, targets: []target{
		{name: "main", engine: "postgres", db: pg},
		{name: "ci", engine: "mysql", db: my},
	}})
	first := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	time.Sleep(time.Second)
	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	var m struct {
		FormatVersion int `json:"formatVersion"`
		Targets       []struct {
			Name      string
			PlainSize int64 `json:"plainSize"`
			Chunks    []struct{ Hash string }
		} `json:"targets"`
	}
	dir := filepath.Join(s.storageDir, "e2e", "shop", id)
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil || m.FormatVersion != 2 || len(m.Targets) != 2 || len(m.Targets[0].Chunks) == 0 {
		t.Fatalf("manifest of %s: format %d, %d targets, err %v\n%s", id, m.FormatVersion, len(m.Targets), err, data)
	}
	prelude := byHandPrelude(t, s, dir)
	for _, tg := range m.Targets {
		if got := strings.TrimSpace(sh(t, prelude+"stream "+tg.Name+" | wc -c")); got != strconv.FormatInt(tg.PlainSize, 10) {
			t.Errorf("%s: the loop streamed %s bytes, manifest says %d", tg.Name, got, tg.PlainSize)
		}
	}
	restoreByHandIntoPostgres(t, prelude, pg, "by-hand PostgreSQL restore of format 2")
	myDst := randomName("coffer_e2e_byhand_")
	t.Cleanup(func() { dropMy(myDst) })
	mysql(t, "", "CREATE DATABASE "+myDst)
	sh(t, prelude+"stream ci | mariadb -h 127.0.0.1 -P 3306 -u root "+myDst)
	if got, want := myFingerprint(t, myDst), myFingerprint(t, my); got != want {
		t.Fatalf("by-hand MariaDB restore of format 2 differs:\n%s\n---\n%s", want, got)
	}

	// A missing chunk fails the loop; it never streams a dump with a hole.
	chunk := filepath.Join(s.storageDir, "e2e", "shop", "chunks", m.Targets[1].Chunks[0].Hash+".zst.age")
	if err := os.Rename(chunk, chunk+".away"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", prelude+"stream ci | wc -c")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("the loop succeeded with a chunk missing:\n%s", out)
	}
	if err := os.Rename(chunk+".away", chunk); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "verify", "-f", s.path, "--backup", first).stdout; !strings.Contains(out, "ok") {
		t.Fatalf("verify of the first backup: %s", out)
	}
}

// TestRestoreWithoutCofferLevelNone: at spec.compression.level none the
// chunks are stored as they are, and the same by-hand loop (age, zstd)
// restores them: a frame of raw blocks is still a zstd frame.
func TestRestoreWithoutCofferLevelNone(t *testing.T) {
	for _, tool := range []string{"age", "zstd", "jq", "pg_restore"} {
		requireTool(t, tool)
	}
	pg := pgDB(t, true)
	s := writeSetup(t, setupOpts{chunked: true, compression: "none", targets: []target{{name: "main", engine: "postgres", db: pg}}})
	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	dir := filepath.Join(s.storageDir, "e2e", "shop", id)
	var m struct {
		Targets []struct {
			PlainSize int64 `json:"plainSize"`
			Size      int64 `json:"size"`
		} `json:"targets"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil || len(m.Targets) != 1 {
		t.Fatalf("manifest: %v\n%s", err, data)
	}
	if tg := m.Targets[0]; tg.Size < tg.PlainSize {
		t.Fatalf("stored %d bytes of a %d-byte dump at level none: compressed", tg.Size, tg.PlainSize)
	}
	restoreByHandIntoPostgres(t, byHandPrelude(t, s, dir), pg, "by-hand restore of level none")
}

// byHandPrelude is the shell prelude of a by-hand format 2 restore of the
// backup in dir: the storage, the backup, the age key in a file, and the
// stream function of docs/format.md.
func byHandPrelude(t *testing.T, s *setup, dir string) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(key, []byte(s.identity.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("set -o pipefail\nS=%q\nB=%q\nKEY=%q\n%s\n", s.storageDir, dir, key, streamFunction(t))
}

// restoreByHandIntoPostgres streams target main into pg_restore with the
// prelude's loop, into a new database, and compares it with source.
func restoreByHandIntoPostgres(t *testing.T, prelude, source, what string) {
	t.Helper()
	dst := randomName("coffer_e2e_byhand_")
	t.Cleanup(func() { dropPG(dst) })
	sh(t, "createdb -h 127.0.0.1 -U postgres "+dst)
	sh(t, prelude+"stream main | pg_restore --no-owner --exit-on-error -h 127.0.0.1 -U postgres -d "+dst)
	if got, want := pgFingerprint(t, dst), pgFingerprint(t, source); got != want {
		t.Fatalf("%s differs:\n%s\n---\n%s", what, want, got)
	}
}
