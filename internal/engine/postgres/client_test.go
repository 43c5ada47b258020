package postgres

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFindClient: where PATH's pg_restore is Debian's pg_wrapper, the newest
// installed version's program is run directly; PGCLUSTER, or a program that
// is not the wrapper, keeps what PATH found.
func TestFindClient(t *testing.T) {
	root := t.TempDir()
	write := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	lib := filepath.Join(root, "lib")
	write(filepath.Join(lib, "9.6", "bin", "pg_restore"), 0o755)
	write(filepath.Join(lib, "15", "bin", "pg_restore"), 0o755)
	write(filepath.Join(lib, "17", "bin", "pg_restore"), 0o755)
	write(filepath.Join(lib, "18", "bin", "pg_restore"), 0o644) // not executable
	write(filepath.Join(lib, "19", "bin", "pg_dump"), 0o755)    // another program only
	write(filepath.Join(lib, "99beta", "bin", "pg_restore"), 0o755)
	wrapper := filepath.Join(root, "share", "postgresql-common", "pg_wrapper")
	write(wrapper, 0o755)
	wrapped := filepath.Join(root, "wrapped")
	if err := os.MkdirAll(wrapped, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(wrapper, filepath.Join(wrapped, "pg_restore")); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(root, "plain")
	write(filepath.Join(plain, "pg_restore"), 0o755)

	saved := debianClients
	debianClients = lib
	t.Cleanup(func() { debianClients = saved })
	for name, tc := range map[string]struct{ path, cluster, want string }{
		"wrapper: newest runnable version":  {wrapped, "", filepath.Join(lib, "17", "bin", "pg_restore")},
		"wrapper pinned by PGCLUSTER":       {wrapped, "15/main", filepath.Join(wrapped, "pg_restore")},
		"a program that is not the wrapper": {plain, "", filepath.Join(plain, "pg_restore")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			t.Setenv("PGCLUSTER", tc.cluster)
			got, err := findClient("pg_restore")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("findClient(pg_restore) = %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("wrapper without any version's program", func(t *testing.T) {
		debianClients = filepath.Join(root, "none")
		t.Setenv("PATH", wrapped)
		t.Setenv("PGCLUSTER", "")
		if got, err := findClient("pg_restore"); err != nil || got != filepath.Join(wrapped, "pg_restore") {
			t.Errorf("findClient(pg_restore) = %s, %v; want the wrapper, %s", got, err, filepath.Join(wrapped, "pg_restore"))
		}
	})
}

func TestParseMajor(t *testing.T) {
	for s, want := range map[string][2]int{"17": {17, 0}, "9.6": {9, 6}, "10": {10, 0}} {
		if got, ok := parseMajor(s); !ok || got != want {
			t.Errorf("parseMajor(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "common", "17beta", "9.", ".6", "-1", "9.x"} {
		if got, ok := parseMajor(s); ok {
			t.Errorf("parseMajor(%q) = %v, want not a version", s, got)
		}
	}
}
