package cockroach_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/cockroach"
)

// databases is the stand-in's set of databases, copied.
func (s *standIn) databases() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	have := map[string]bool{}
	for name, ok := range s.dbs {
		have[name] = ok
	}
	return have
}

// statementsSince returns the statements after the first n.
func (s *standIn) statementsSince(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.statements[n:]...)
}

func (s *standIn) statementCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.statements)
}

// tampered is archive with one byte of each data file flipped: RESTORE
// reads the files and finds them differing from what BACKUP wrote.
func tampered(t *testing.T, archive []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(hdr.Name, "/data/") && len(b) > 0 {
			b[len(b)/2] ^= 0xff
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// dbName is a database name in a statement: the last one is where it acts.
var dbName = regexp.MustCompile(`"shop[^"]*"|'shop[^']*'`)

var scratchRE = regexp.MustCompile(`^shop_coffer_[0-9a-f]{8}$`)

// scratchOf is the one scratch database among dbs, or "".
func scratchOf(t *testing.T, dbs map[string]bool) string {
	t.Helper()
	var found []string
	for name := range dbs {
		if scratchRE.MatchString(name) {
			found = append(found, name)
		}
	}
	if len(found) > 1 {
		t.Fatalf("several scratch databases: %v", found)
	}
	if len(found) == 0 {
		return ""
	}
	return found[0]
}

// TestStandInCleanIsRehearsed: restoring over an existing database first
// restores under a scratch name; only then is the destination dropped and
// restored. A backup that does not restore leaves the destination alone; a
// second RESTORE that fails keeps the scratch copy and says so.
func TestStandInCleanIsRehearsed(t *testing.T) {
	crdb := startStandIn(t, "pw")
	endpointURL, _ := freeEndpoint(t)
	target := crdbTarget("crdb-clean", "127.0.0.1", crdb.port(), "shop", "root", "pw", endpointURL)
	e := cockroach.New()
	var dump bytes.Buffer
	if _, err := e.Backup(context.Background(), target, &dump); err != nil {
		t.Fatal(err)
	}
	restore := func(archive []byte) error {
		return e.Restore(context.Background(), target, bytes.NewReader(archive), engine.RestoreOptions{Clean: true})
	}

	t.Run("Succeeds", func(t *testing.T) {
		n := crdb.statementCount()
		if err := restore(dump.Bytes()); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		var kinds []string
		for _, s := range crdb.statementsSince(n) {
			if strings.HasPrefix(s, "RESTORE") || strings.HasPrefix(s, "DROP") {
				names := dbName.FindAllString(s, -1)
				kinds = append(kinds, strings.Fields(s)[0]+" "+names[len(names)-1])
			}
		}
		want := regexp.MustCompile(`^RESTORE '(shop_coffer_\w+)', DROP "shop", RESTORE "shop", DROP "(shop_coffer_\w+)"$`)
		got := strings.Join(kinds, ", ")
		if m := want.FindStringSubmatch(got); m == nil || m[1] != m[2] {
			t.Errorf("statements: %s\nwant them to match %s", got, want)
		}
		if dbs := crdb.databases(); !dbs["shop"] || scratchOf(t, dbs) != "" {
			t.Errorf("databases afterwards: %v", dbs)
		}
	})
	t.Run("RehearsalFails", func(t *testing.T) {
		n := crdb.statementCount()
		err := restore(tampered(t, dump.Bytes()))
		if err == nil || !strings.Contains(err.Error(), "was not touched") || !strings.Contains(err.Error(), "differ") {
			t.Fatalf("error = %v, want a failed rehearsal", err)
		}
		for _, s := range crdb.statementsSince(n) {
			if strings.HasPrefix(s, "DROP") {
				t.Errorf("sent %s although the rehearsal failed", s)
			}
		}
		if dbs := crdb.databases(); !dbs["shop"] || scratchOf(t, dbs) != "" {
			t.Errorf("databases afterwards: %v", dbs)
		}
		t.Log(err)
	})
	t.Run("SecondRestoreFails", func(t *testing.T) {
		crdb.mu.Lock()
		crdb.restoring = func(into string) error {
			if into == "shop" {
				return errors.New("node lost")
			}
			return nil
		}
		crdb.mu.Unlock()
		err := restore(dump.Bytes())
		dbs := crdb.databases()
		scratch := scratchOf(t, dbs)
		if scratch == "" || dbs["shop"] {
			t.Fatalf("databases afterwards: %v, want the scratch copy kept", dbs)
		}
		if err == nil || !strings.Contains(err.Error(), "node lost") || !strings.Contains(err.Error(), scratch) {
			t.Fatalf("error = %v, want it to name the kept scratch database", err)
		}
		t.Log(err)
	})
}
