package runner_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/engine/postgres"
	"github.com/coffer-dev/coffer/internal/manifest"
	"github.com/coffer-dev/coffer/internal/pipeline"
	"github.com/coffer-dev/coffer/internal/runner"
	"github.com/coffer-dev/coffer/internal/storage"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// countingStore counts the GETs of objects and chunks (not manifests) and
// the bytes read from them.
type countingStore struct {
	storage.Store
	mu    sync.Mutex
	gets  int
	bytes int64
}

func (s *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Store.Get(ctx, key)
	if err != nil || strings.HasSuffix(key, "manifest.json") {
		return rc, err
	}
	s.mu.Lock()
	s.gets++
	s.mu.Unlock()
	return countingReader{rc, s}, nil
}

func (s *countingStore) reset() (gets int, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gets, n = s.gets, s.bytes
	s.gets, s.bytes = 0, 0
	return gets, n
}

type countingReader struct {
	io.ReadCloser
	s *countingStore
}

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.s.mu.Lock()
	r.s.bytes += int64(n)
	r.s.mu.Unlock()
	return n, err
}

func counted(r *runner.Runner) *countingStore {
	c := &countingStore{}
	runner.WrapStore(r, func(s storage.Store) storage.Store { c.Store = s; return c })
	return c
}

// syncBuffer is a log destination tests read while nothing writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newPG and newMy name a database that does not exist, dropped if a test
// leaves it.
func newPG(t *testing.T) string {
	db := testutil.UniqueName()
	testutil.SharedPostgres(t).DropOnCleanup(t, db)
	return db
}

func newMy(t *testing.T) string {
	db := testutil.UniqueName()
	testutil.SharedMySQL(t).DropOnCleanup(t, db)
	return db
}

// shopData fills the postgres and mysql source databases: enough rows for
// several format 2 chunks.
func shopData(t *testing.T) (pg, my string) {
	pg, my = testutil.PostgresDB(t), testutil.MySQLDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT i, md5(i::text) AS v FROM generate_series(1, 200000) AS i")
	testutil.MySQLExec(t, my, "CREATE TABLE t (i INT PRIMARY KEY, v VARCHAR(64)); INSERT INTO t SELECT seq, md5(seq) FROM seq_1_to_50000")
	return pg, my
}

// TestRestoreIntoNewDatabaseReadsOnce: a restore into a database that does
// not exist yet reads each object or chunk once (the checks run while it
// streams), and restores the same data; one into an existing database still
// reads the backup twice, verifying it first.
func TestRestoreIntoNewDatabaseReadsOnce(t *testing.T) {
	pg, my := shopData(t)
	ctx := context.Background()
	for name, chunked := range map[string]bool{"format 1": false, "format 2": true} {
		t.Run(name, func(t *testing.T) {
			log := &syncBuffer{}
			r := newRunner(t, fixture{pg: pg, my: my, chunked: chunked}.load(t, t.TempDir()),
				runner.Options{Log: slog.New(slog.NewTextHandler(log, nil))})
			id := backup(t, r)
			c := counted(r)
			m, err := r.Catalog().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for i, tc := range []struct {
				target, db  string
				fingerprint func(testing.TB, string) string
				source      string
			}{
				{"main", newPG(t), testutil.PGFingerprint, pg},
				{"ci", newMy(t), testutil.MySQLFingerprint, my},
			} {
				if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: tc.target, IntoDatabase: tc.db}); err != nil {
					t.Fatalf("restoring %s into a new database: %v", tc.target, err)
				}
				rec := m.Targets[i]
				if gets, n := c.reset(); gets != reads(rec) || n != rec.Size {
					t.Errorf("restoring %s into a new database read %d objects, %d bytes; want one pass: %d, %d",
						tc.target, gets, n, reads(rec), rec.Size)
				}
				if tc.fingerprint(t, tc.db) != tc.fingerprint(t, tc.source) {
					t.Errorf("%s restored into %s differs from its source", tc.target, tc.db)
				}
				if want := "verifying while restoring into new database " + tc.db; !strings.Contains(log.String(), want) {
					t.Errorf("the log does not say %q:\n%s", want, log.String())
				}
			}
			// Into an existing database: format 1 is verified first (two
			// passes); format 2 into PostgreSQL is checked chunk by chunk as
			// it streams into one transaction (one pass).
			existing := testutil.PostgresDB(t)
			if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "main", IntoDatabase: existing}); err != nil {
				t.Fatalf("restoring into an existing empty database: %v", err)
			}
			passes := map[bool]int{false: 2, true: 1}[chunked]
			if gets, n := c.reset(); gets != passes*reads(m.Targets[0]) || n != int64(passes)*m.Targets[0].Size {
				t.Errorf("restoring into an existing database read %d objects, %d bytes; want %d pass(es): %d, %d",
					gets, n, passes, passes*reads(m.Targets[0]), int64(passes)*m.Targets[0].Size)
			}
			if testutil.PGFingerprint(t, existing) != testutil.PGFingerprint(t, pg) {
				t.Errorf("main restored into the existing %s differs from its source", existing)
			}
			if said := strings.Contains(log.String(), "restoring all or nothing, checked as it streams"); said != chunked {
				t.Errorf("the log says it checks as it streams: %v, want %v:\n%s", said, chunked, log.String())
			}
			// MariaDB restores are all or nothing too (a failure empties
			// the database again): the same passes.
			existingMy := testutil.MySQLDB(t)
			if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "ci", IntoDatabase: existingMy}); err != nil {
				t.Fatalf("restoring into an existing empty MariaDB database: %v", err)
			}
			if gets, _ := c.reset(); gets != passes*reads(m.Targets[1]) {
				t.Errorf("restoring into an existing MariaDB database read %d objects; want %d pass(es): %d", gets, passes, passes*reads(m.Targets[1]))
			}
			if testutil.MySQLFingerprint(t, existingMy) != testutil.MySQLFingerprint(t, my) {
				t.Errorf("ci restored into the existing %s differs from its source", existingMy)
			}
			if strings.Contains(log.String(), "new database "+existing) {
				t.Errorf("an existing database was called new:\n%s", log.String())
			}
		})
	}
}

// reads is how many GETs one pass over a target takes.
func reads(t manifest.Target) int {
	if len(t.Chunks) > 0 {
		return len(t.Chunks)
	}
	return 1
}

// TestRestoreIntoNewDatabaseDropsItOnFailure: whatever makes a restore into
// a new database fail after the database was created, a damaged object, a
// checksum that only fails at the end of the stream (after pg_restore has
// committed), a damaged or missing chunk, the database is dropped again,
// and the error names the backup, the target and the object or chunk.
func TestRestoreIntoNewDatabaseDropsItOnFailure(t *testing.T) {
	pg, my := shopData(t)
	ctx := context.Background()
	cases := map[string]struct {
		chunked bool
		target  string
		// damage breaks the stored backup; it returns what the error
		// must name besides the backup and target.
		damage func(t *testing.T, dir string, m *manifest.Manifest, rec manifest.Target) string
		want   error
	}{
		"format 1, flipped byte":         {target: "main", want: pipeline.ErrIntegrity, damage: flipObject},
		"format 1, mysql, flipped byte":  {target: "ci", want: pipeline.ErrIntegrity, damage: flipObject},
		"format 1, wrong dump checksum":  {target: "main", want: pipeline.ErrIntegrity, damage: wrongPlainSum},
		"format 2, flipped chunk":        {chunked: true, target: "main", want: pipeline.ErrIntegrity, damage: flipLastChunk},
		"format 2, missing chunk":        {chunked: true, target: "main", want: storage.ErrNotFound, damage: removeLastChunk},
		"format 2, mysql, flipped chunk": {chunked: true, target: "ci", want: pipeline.ErrIntegrity, damage: flipLastChunk},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := fixture{pg: pg, my: my, chunked: tc.chunked}.load(t, dir)
			id := backup(t, newRunner(t, cfg, runner.Options{}))
			r := newRunner(t, cfg, runner.Options{})
			m, err := r.Catalog().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := m.Target(tc.target)
			what := tc.damage(t, dir, m, rec)
			r = newRunner(t, cfg, runner.Options{}) // reads the manifest again
			db, exists := newPG(t), pgExists
			if tc.target == "ci" {
				db, exists = newMy(t), myExists
			}
			_, err = r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: tc.target, IntoDatabase: db})
			if !errors.Is(err, tc.want) {
				t.Fatalf("restore of a damaged backup: %v; want %v", err, tc.want)
			}
			names := []string{id, `"` + tc.target + `"`, rec.Object, what, "was dropped again"}
			if tc.chunked { // which chunk of the target, as verify says it
				names = append(names, fmt.Sprintf("chunk %d of %d", len(rec.Chunks), len(rec.Chunks)))
			}
			for _, s := range names {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the error does not name %q: %v", s, err)
				}
			}
			if exists(t, db) {
				t.Fatalf("the database %s the failed restore created is still there", db)
			}
		})
	}
}

func flipObject(t *testing.T, dir string, _ *manifest.Manifest, rec manifest.Target) string {
	flipByte(t, filepath.Join(dir, filepath.FromSlash(rec.Object)))
	return rec.Object
}

// wrongPlainSum records another SHA-256 of the dump in the manifest: the
// object reads and restores cleanly, and only the final check fails.
func wrongPlainSum(t *testing.T, dir string, m *manifest.Manifest, rec manifest.Target) string {
	path := filepath.Join(dir, filepath.FromSlash(filepath.Dir(rec.Object)), "manifest.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("0", 64)
	data = bytes.Replace(data, []byte(rec.PlainSHA256), []byte(other), 1)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return "manifest says " + other
}

// flipLastChunk flips a byte of rec's last chunk.
func flipLastChunk(t *testing.T, dir string, m *manifest.Manifest, rec manifest.Target) string {
	key := lastChunk(m, rec)
	flipByte(t, filepath.Join(dir, filepath.FromSlash(key)))
	return key
}

// removeLastChunk deletes rec's last chunk from storage.
func removeLastChunk(t *testing.T, dir string, m *manifest.Manifest, rec manifest.Target) string {
	key := lastChunk(m, rec)
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(key))); err != nil {
		t.Fatal(err)
	}
	return key
}

// lastChunk is the storage key of rec's last chunk: by the time it is read,
// the engine has restored most of the dump.
func lastChunk(m *manifest.Manifest, rec manifest.Target) string {
	c := rec.Chunks[len(rec.Chunks)-1]
	return strings.TrimSuffix(m.Chunking.Dir, "/") + "/" + c.Hash + m.Chunking.Suffix
}

// TestRestoreIntoExistingDatabaseVerifiesFirst: a corrupt backup restored
// into an existing database, empty or holding data (--clean), leaves it as
// it was. Format 1 is found by the verification pass before the database
// is touched; format 2 is found as it streams, and the restore is undone
// (PostgreSQL's one transaction rolls back; MariaDB empties a database
// that was empty again, and replaces an occupied one's objects only after
// a rehearsal succeeded): with the last chunk flipped or missing, most of
// the dump has been restored by then.
func TestRestoreIntoExistingDatabaseVerifiesFirst(t *testing.T) {
	pg, my := shopData(t)
	ctx := context.Background()
	cases := map[string]struct {
		chunked bool
		target  string
		damage  func(t *testing.T, dir string, m *manifest.Manifest, rec manifest.Target) string
		want    error
		// verified: found by the verification pass ("not restoring"),
		// else while restoring, after one pass over the backup.
		verified bool
		// empty: the destination holds nothing (no --clean).
		empty bool
	}{
		"format 1, flipped byte":                {target: "main", damage: flipObject, want: pipeline.ErrIntegrity, verified: true},
		"format 1, mysql, flipped byte":         {target: "ci", damage: flipObject, want: pipeline.ErrIntegrity, verified: true},
		"format 2, flipped chunk":               {chunked: true, target: "main", damage: flipLastChunk, want: pipeline.ErrIntegrity},
		"format 2, missing chunk":               {chunked: true, target: "main", damage: removeLastChunk, want: storage.ErrNotFound},
		"format 2, flipped chunk, empty":        {chunked: true, target: "main", damage: flipLastChunk, want: pipeline.ErrIntegrity, empty: true},
		"format 2, mysql, flipped chunk":        {chunked: true, target: "ci", damage: flipLastChunk, want: pipeline.ErrIntegrity},
		"format 2, mysql, missing chunk":        {chunked: true, target: "ci", damage: removeLastChunk, want: storage.ErrNotFound},
		"format 2, mysql, flipped chunk, empty": {chunked: true, target: "ci", damage: flipLastChunk, want: pipeline.ErrIntegrity, empty: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := fixture{pg: pg, my: my, chunked: tc.chunked}.load(t, dir)
			r := newRunner(t, cfg, runner.Options{})
			id := backup(t, r)
			m, err := r.Catalog().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			rec, _ := m.Target(tc.target)
			what := tc.damage(t, dir, m, rec)
			var existing string
			var fingerprint func(testing.TB, string) string
			if tc.target == "ci" {
				existing, fingerprint = testutil.MySQLDB(t), testutil.MySQLFingerprint
				if !tc.empty {
					testutil.MySQLExec(t, existing, "CREATE TABLE t (i INT PRIMARY KEY, v VARCHAR(64)); INSERT INTO t VALUES (1, 'kept')")
				}
			} else {
				existing, fingerprint = testutil.PostgresDB(t), testutil.PGFingerprint
				if !tc.empty {
					testutil.PGExec(t, existing, "CREATE TABLE t (i int, v text); INSERT INTO t VALUES (1, 'kept')")
				}
			}
			before := fingerprint(t, existing)
			c := counted(r)
			_, err = r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: tc.target, IntoDatabase: existing, Clean: !tc.empty})
			if !errors.Is(err, tc.want) || strings.Contains(err.Error(), "not restoring") != tc.verified {
				t.Fatalf("restore of a damaged backup into an existing database: %v; want %v, found by the verification pass: %v", err, tc.want, tc.verified)
			}
			names := []string{id, `"` + tc.target + `"`, what}
			if !tc.verified {
				names = append(names, "all or nothing: the destination is as it was")
			}
			for _, s := range names {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the error does not name %q: %v", s, err)
				}
			}
			if gets, _ := c.reset(); gets > reads(rec) {
				t.Errorf("read %d objects: want at most one pass, %d", gets, reads(rec))
			}
			if fingerprint(t, existing) != before {
				t.Fatal("the existing database changed")
			}
		})
	}
}

// lateDatabase is the postgres engine on a server where the destination
// appears after the runner's last look: it says every database is missing.
type lateDatabase struct{ *postgres.Engine }

func (lateDatabase) DatabaseExists(context.Context, engine.Target, string) (bool, error) {
	return false, nil
}

// TestRestoreDatabaseAppearingMeanwhileIsKept: when the destination that
// looked new exists by the time the restore ends, the restore, which ran
// into a staging database, leaves it and its data as they were: an intact
// backup fails to take its name, a corrupt one fails its check, and either
// way only the staging database is dropped.
func TestRestoreDatabaseAppearingMeanwhileIsKept(t *testing.T) {
	pg, my := shopData(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := fixture{pg: pg, my: my}.load(t, dir)
	engines := all.With(all.Services{})
	r := newRunner(t, cfg, runner.Options{
		Engine: func(spec v1alpha1.Target) (engine.Engine, error) {
			e, err := engines(spec)
			if p, ok := e.(*postgres.Engine); ok {
				return lateDatabase{p}, err
			}
			return e, err
		}})
	id := backup(t, r)
	m, err := r.Catalog().Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	existing := testutil.PostgresDB(t)
	testutil.PGExec(t, existing, "CREATE TABLE t (i int, v text); INSERT INTO t VALUES (1, 'kept')")
	before := testutil.PGFingerprint(t, existing)
	for _, tc := range []struct {
		name    string
		damage  func()
		want    error
		message string
	}{
		{"intact", func() {}, engine.ErrDatabaseExists, "created by someone else while this restore ran"},
		{"corrupt", func() { flipObject(t, dir, m, m.Targets[0]) }, pipeline.ErrIntegrity, "integrity check failed"},
	} {
		tc.damage()
		_, err = r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "main", IntoDatabase: existing})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.message) ||
			!strings.Contains(err.Error(), "to become \""+existing+"\", was dropped again") {
			t.Fatalf("%s backup restored into a database that appeared meanwhile: %v", tc.name, err)
		}
		if got := pgDatabasesLike(t, existing); len(got) != 1 || got[0] != existing {
			t.Errorf("%s backup: the server has %q; want only %s", tc.name, got, existing)
		}
		if testutil.PGFingerprint(t, existing) != before {
			t.Fatalf("%s backup: the database that appeared meanwhile was changed", tc.name)
		}
	}
}

// notAtomic hides an engine's engine.Atomic (and every other optional
// interface): its restores into an existing destination are verified first.
type notAtomic struct{ engine.Engine }

// TestRestoreIntoExistingDatabaseChecksEachChunkOnce: the verify pass before
// a format 2 restore into an existing database (of an engine whose restore
// is not one transaction) checks each distinct chunk once, as verify does,
// rather than streaming the dump: a dump of repeated bytes, cut into
// identical chunks, is read in full only by the restore.
func TestRestoreIntoExistingDatabaseChecksEachChunkOnce(t *testing.T) {
	pg, my := testutil.PostgresDB(t), testutil.MySQLDB(t)
	testutil.PGExec(t, pg, "CREATE TABLE t AS SELECT repeat('x', 24000000) AS v")
	ctx := context.Background()
	engines := all.With(all.Services{})
	r := newRunner(t, fixture{pg: pg, my: my, chunked: true}.load(t, t.TempDir()), runner.Options{
		Engine: func(spec v1alpha1.Target) (engine.Engine, error) {
			e, err := engines(spec)
			return notAtomic{e}, err
		}})
	id := backup(t, r)
	m, err := r.Catalog().Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := m.Target("main")
	distinct := map[string]bool{}
	for _, c := range rec.Chunks {
		distinct[c.Hash] = true
	}
	if len(distinct) >= len(rec.Chunks) {
		t.Fatalf("%d chunks, %d distinct: the test needs a dump that repeats chunks", len(rec.Chunks), len(distinct))
	}
	c := counted(r)
	existing := testutil.PostgresDB(t)
	if _, err := r.Restore(ctx, runner.RestoreRequest{BackupID: id, Target: "main", IntoDatabase: existing}); err != nil {
		t.Fatalf("restoring into an existing empty database: %v", err)
	}
	if gets, _ := c.reset(); gets != len(distinct)+len(rec.Chunks) {
		t.Errorf("read %d chunks; want the verify pass's %d distinct ones and the restore's %d", gets, len(distinct), len(rec.Chunks))
	}
	if testutil.PGFingerprint(t, existing) != testutil.PGFingerprint(t, pg) {
		t.Error("the restored database differs from its source")
	}
}
