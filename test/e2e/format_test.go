package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
