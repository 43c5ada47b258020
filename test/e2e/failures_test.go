package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFailedTargetCommitsNothing: one target of a set fails, so the set fails,
// nothing is listed, and the other target's object is removed.
func TestFailedTargetCommitsNothing(t *testing.T) {
	pg := pgDB(t, true)
	s := writeSetup(t, setupOpts{targets: []target{
		{name: "main", engine: "postgres", db: pg},
		{name: "gone", engine: "postgres", db: "coffer_e2e_does_not_exist"},
	}})
	r := runner(t, nil, "backup", "-f", s.path)
	if r.code == 0 {
		t.Fatalf("backup with a missing database succeeded: %s", r.stdout)
	}
	if !strings.Contains(r.stderr, `target "gone"`) {
		t.Fatalf("error does not name the failed target: %s", r.stderr)
	}
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("a failed backup is listed: %+v", got)
	}
	if files := s.storedFiles(t); len(files) != 0 {
		t.Fatalf("a failed backup left objects: %v", files)
	}
}

// TestDumpKilledMidStream: the server kills pg_dump's session while it copies
// a large table; the backup fails and leaves nothing.
func TestDumpKilledMidStream(t *testing.T) {
	pg := pgDB(t, false)
	psql(t, pg, "CREATE TABLE big AS SELECT i, repeat(md5(i::text), 20) AS body FROM generate_series(1, 400000) AS i")
	s := writeSetup(t, setupOpts{targets: []target{{name: "main", engine: "postgres", db: pg}}})

	done := make(chan result, 1)
	go func() { done <- runner(t, nil, "backup", "-f", s.path) }()
	killed := false
	deadline := time.Now().Add(60 * time.Second)
	for !killed && time.Now().Before(deadline) {
		select {
		case r := <-done:
			t.Fatalf("backup finished before it could be killed (exit %d); make the table bigger", r.code)
		default:
		}
		n := psql(t, "postgres", fmt.Sprintf(
			"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '%s' AND application_name = 'pg_dump' AND query ILIKE 'COPY%%'", pg))
		killed = n != "0"
		time.Sleep(5 * time.Millisecond)
	}
	if !killed {
		t.Fatal("never saw pg_dump copying")
	}
	r := <-done
	if r.code == 0 {
		t.Fatalf("backup succeeded although its connection was killed")
	}
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("a killed backup is listed: %+v", got)
	}
	if files := s.storedFiles(t); len(files) != 0 {
		t.Fatalf("a killed backup left objects: %v", files)
	}
}

// TestCorruptionIsCaught: flipped byte and truncation fail verify and restore
// with the backup, target and object named, and restore touches no database.
func TestCorruptionIsCaught(t *testing.T) {
	pg := pgDB(t, true)
	s := writeSetup(t, setupOpts{targets: []target{{name: "main", engine: "postgres", db: pg}}})
	id := strings.TrimSpace(mustRun(t, "backup", "-f", s.path).stdout)
	object := list(t, s)[0]
	key := "e2e/shop/" + id + "/main.pgdump.zst.age"
	path := s.objectPath(key)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("object %s: %v", key, err)
	}
	_ = object
	cases := map[string]func([]byte) []byte{
		"flipped byte": func(b []byte) []byte { c := append([]byte(nil), b...); c[len(c)/2] ^= 0x10; return c },
		"truncated":    func(b []byte) []byte { return append([]byte(nil), b[:len(b)*2/3]...) },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, damage(orig), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.WriteFile(path, orig, 0o600) })
			for _, cmd := range [][]string{
				{"verify", "-f", s.path, "--backup", id},
				{"restore", "-f", s.path, "--backup", id, "--into-database", "coffer_e2e_never_created"},
			} {
				r := runner(t, nil, cmd...)
				if r.code == 0 {
					t.Fatalf("%s succeeded on a damaged object", cmd[0])
				}
				for _, want := range []string{id, `"main"`, key, "integrity"} {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("%s error does not mention %q: %s", cmd[0], want, r.stderr)
					}
				}
			}
			if pgExists(t, "coffer_e2e_never_created") {
				dropPG("coffer_e2e_never_created")
				t.Fatal("restore of a damaged backup created the destination database")
			}
		})
	}
}

// TestWrongOrMissingIdentity: a clear error, before any database is touched.
func TestWrongOrMissingIdentity(t *testing.T) {
	pg := pgDB(t, true)
	good := writeSetup(t, setupOpts{targets: []target{{name: "main", engine: "postgres", db: pg}}})
	mustRun(t, "backup", "-f", good.path)

	cases := map[string]struct {
		opts setupOpts
		want string
	}{
		"wrong identity":   {setupOpts{identity: keyPair(t)}, "no configured age identity matches"},
		"missing identity": {setupOpts{noIdentity: true}, "identitySecretRef"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.opts.targets = []target{{name: "main", engine: "postgres", db: pg}}
			bad := writeSetup(t, tc.opts)
			bad.storageDir = good.storageDir
			// Point the bad config at the good storage.
			data, _ := os.ReadFile(bad.path)
			os.WriteFile(bad.path, []byte(strings.Replace(string(data), bad.path[:len(bad.path)-len("coffer.yaml")]+"storage", good.storageDir, 1)), 0o600)
			dst := randomName("coffer_e2e_untouched_")
			for _, cmd := range [][]string{
				{"restore", "-f", bad.path, "--backup", "latest", "--into-database", dst},
				{"verify", "-f", bad.path, "--backup", "latest"},
			} {
				r := runner(t, nil, cmd...)
				if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
					t.Fatalf("%s: exit %d, stderr %s; want an error mentioning %q", cmd[0], r.code, r.stderr, tc.want)
				}
			}
			if pgExists(t, dst) {
				dropPG(dst)
				t.Fatal("restore with a bad identity created the destination database")
			}
		})
	}
}
