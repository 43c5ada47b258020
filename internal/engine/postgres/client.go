package postgres

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// debianClients is where Debian's postgresql-client-<major> packages put
// their programs: <debianClients>/<major>/bin/<program>. A variable for tests.
var debianClients = "/usr/lib/postgresql"

// findClient finds the PostgreSQL client program name (pg_dump, pg_restore,
// psql). On Debian, and in the runner image, PATH holds links to
// postgresql-common's pg_wrapper, a Perl script that picks a version and
// then runs <debianClients>/<major>/bin/<name>: 40–100 ms per start, paid
// twice by every restore (pg_restore --version, then the restore). Where the
// program found is that wrapper and PGCLUSTER does not pin a cluster, the
// newest installed version is run directly: the one pg_wrapper runs for a
// server on another host, and the one that reads every archive older
// versions wrote. Anywhere else the program found is run as it is.
func findClient(name string) (string, error) {
	path, err := tool.Find(clientPackage, name)
	if err != nil {
		return "", err
	}
	if os.Getenv("PGCLUSTER") != "" {
		return path, nil
	}
	if target, err := filepath.EvalSymlinks(path); err != nil || filepath.Base(target) != "pg_wrapper" {
		return path, nil
	}
	if newest := newestClient(debianClients, name); newest != "" {
		return newest, nil
	}
	return path, nil
}

// newestClient is <dir>/<major>/bin/<name> of the highest major version
// (17 over 9.6) where that program exists, or "" where none does.
func newestClient(dir, name string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	best, bestVersion := "", [2]int{-1, -1}
	for _, e := range entries {
		v, ok := parseMajor(e.Name())
		if !ok || (v[0] < bestVersion[0] || v[0] == bestVersion[0] && v[1] <= bestVersion[1]) {
			continue
		}
		p := filepath.Join(dir, e.Name(), "bin", name)
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			continue
		}
		best, bestVersion = p, v
	}
	return best
}

// parseMajor reads a Debian PostgreSQL version directory's name: "17" or,
// before 10, "9.6".
func parseMajor(s string) ([2]int, bool) {
	major, minor, dotted := strings.Cut(s, ".")
	m, err := strconv.Atoi(major)
	if err != nil || m < 0 {
		return [2]int{}, false
	}
	if !dotted {
		return [2]int{m, 0}, true
	}
	n, err := strconv.Atoi(minor)
	if err != nil || n < 0 {
		return [2]int{}, false
	}
	return [2]int{m, n}, true
}
