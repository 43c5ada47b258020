package pgarchive_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/coffer-dev/coffer/internal/engine/postgres/pgarchive"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// archiveSQL fills a database with what the merge must keep apart: rows
// far smaller and far larger than a piece, an empty table, tables in two
// schemas, and large objects (an empty one, small ones, one larger than a
// piece), which pg_dump writes as a block of their own.
const archiveSQL = `
CREATE TABLE small (id int PRIMARY KEY, v text);
INSERT INTO small SELECT i, 'row ' || i || repeat('x', i % 17) FROM generate_series(1, 20000) i;
CREATE TABLE big (id int PRIMARY KEY, payload text);
INSERT INTO big SELECT i, repeat(md5(i::text), 4000 * i) FROM generate_series(1, 3) i;
CREATE TABLE empty_t (id int);
CREATE SCHEMA other;
CREATE TABLE other.tricky (id int, t text);
INSERT INTO other.tricky VALUES (1, E'tab\t newline\n backslash \\ quote '''), (2, NULL), (3, '');
SELECT lo_from_bytea(0, ''::bytea);
SELECT lo_from_bytea(0, convert_to('small object ' || i, 'UTF8')) FROM generate_series(1, 5) i;
SELECT lo_from_bytea(0, convert_to(repeat(md5('lo'), 10000), 'UTF8'));
`

// smallRows is how many rows of archiveSQL are far smaller than a piece.
const smallRows = 20000

// archives dumps one fixture database as the runner does (uncompressed,
// through a pipe) and returns it, with a dump of the same database
// into a file, and the position of the first data block in both.
func archives(t *testing.T) (stream, file []byte, firstBlock int) {
	t.Helper()
	_, stream, file, firstBlock = archivesOf(t)
	return stream, file, firstBlock
}

func archivesOf(t *testing.T) (db string, stream, file []byte, firstBlock int) {
	t.Helper()
	s := testutil.SharedPostgres(t)
	db = s.CreateDB(t)
	s.Exec(t, db, archiveSQL)
	path := filepath.Join(t.TempDir(), "file.dump")
	stream = pgDump(t, s, db, "--compress=0")
	pgDump(t, s, db, "--compress=0", "--file="+path)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(file) != len(stream) {
		t.Fatalf("the dump into a file has %d bytes, the dump through a pipe %d", len(file), len(stream))
	}
	// pg_restore --verbose prints each TOC entry's data position, which only
	// an archive written to a file records; the streamed archive's layout is
	// the same (offsets are fixed-size).
	verbose := string(restore(t, file, "--verbose", "--file=-"))
	firstBlock = len(file)
	for _, m := range regexp.MustCompile(`-- Data Pos: (\d+)`).FindAllStringSubmatch(verbose, -1) {
		if pos, _ := strconv.Atoi(m[1]); pos > 0 && pos < firstBlock {
			firstBlock = pos
		}
	}
	if firstBlock == len(file) || stream[firstBlock] != 1 {
		t.Fatalf("no data block found at the positions pg_restore reports (first %d)", firstBlock)
	}
	return db, stream, file, firstBlock
}

func pgDump(t testing.TB, s testutil.PGServer, db string, args ...string) []byte {
	t.Helper()
	return output(t, exec.Command("pg_dump", append([]string{"-h", s.Host, "-p", strconv.Itoa(s.Port), "-U", s.User, "--format=custom", "-d", db}, args...)...))
}

func restore(t *testing.T, archive []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("pg_restore", args...)
	cmd.Stdin = bytes.NewReader(archive)
	return output(t, cmd)
}

// output runs cmd and returns its stdout, failing the test with its stderr.
func output(t testing.TB, cmd *exec.Cmd) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", cmd.Args[0], err, stderr.String())
	}
	return out
}

func merge(t *testing.T, archive []byte, piece int) []byte {
	t.Helper()
	out, err := io.ReadAll(pgarchive.Merge(bytes.NewReader(archive), piece))
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	return out
}

// restrictLine is the random \restrict key pg_restore 17.6, 16.10, 15.14 and
// later write into every script: different on every run.
var restrictLine = regexp.MustCompile(`(?m)^\\(un)?restrict \S+$`)

// script is what pg_restore restores from archive, as SQL.
func script(t *testing.T, archive []byte) string {
	t.Helper()
	return restrictLine.ReplaceAllString(string(restore(t, archive, "--file=-")), "")
}

func TestMergeRestoresTheSame(t *testing.T) {
	archive, _, _ := archives(t)
	want := script(t, archive)
	if !strings.Contains(want, "row 20000") || !strings.Contains(want, "lowrite") {
		t.Fatalf("the archive's script lacks the fixture's rows or large objects:\n%.2000s", want)
	}
	for _, piece := range []int{1, 1000, 64 << 10, 0} {
		merged := merge(t, archive, piece)
		if got := script(t, merged); got != want {
			t.Errorf("piece %d: pg_restore's script of the merged archive differs from the original's", piece)
		}
		// Every piece header is 5 bytes (a sign byte and a 4-byte length):
		// joining the small table's rows saves about one header per row.
		if piece == 1 {
			if !bytes.Equal(merged, archive) {
				t.Errorf("piece 1: merged archive differs from the original; every piece is at least 1 byte and should pass as it is")
			}
			continue
		}
		if saved := len(archive) - len(merged); saved < 5*smallRows*9/10 {
			t.Errorf("piece %d: merging saved %d bytes, want at least %d (a 5-byte header for most of %d rows)",
				piece, saved, 5*smallRows*9/10, smallRows)
		}
	}
}

// The merged archive restores into a database equal to the source: its
// tables and its large objects.
func TestMergedArchiveRestores(t *testing.T) {
	src, archive, _, _ := archivesOf(t)
	s := testutil.SharedPostgres(t)
	dest := s.CreateDB(t)
	restore(t, merge(t, archive, 1000), "--single-transaction", "--exit-on-error",
		"-h", s.Host, "-p", strconv.Itoa(s.Port), "-U", s.User, "-d", dest)
	if got, want := s.Fingerprint(t, dest), s.Fingerprint(t, src); got != want {
		t.Errorf("restored tables differ from the source's:\n got %s\nwant %s", got, want)
	}
	largeObjects := func(db string) string {
		var n int
		var sum string
		err := s.Conn(t, db).QueryRow(context.Background(), `SELECT count(*), coalesce(md5(string_agg(md5(lo_get(oid)), ',' ORDER BY oid)), '')
			FROM pg_largeobject_metadata`).Scan(&n, &sum)
		if err != nil {
			t.Fatal(err)
		}
		return strconv.Itoa(n) + " " + sum
	}
	if got, want := largeObjects(dest), largeObjects(src); got != want || strings.HasPrefix(want, "0 ") {
		t.Errorf("restored large objects (count, digest) = %s, source's %s", got, want)
	}
}

func TestMergeReadsInAnyPieces(t *testing.T) {
	archive, _, _ := archives(t)
	want := merge(t, archive, 1000)
	for name, src := range map[string]io.Reader{
		"one byte":   iotest.OneByteReader(bytes.NewReader(archive)),
		"half":       iotest.HalfReader(bytes.NewReader(archive)),
		"data error": iotest.DataErrReader(bytes.NewReader(archive)),
	} {
		if err := iotest.TestReader(pgarchive.Merge(src, 1000), want); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// An archive this package does not merge passes byte for byte: compressed,
// written to a file (its TOC records where each block starts), or not a
// custom-format archive at all; so does a version it does not know, and a
// data block of a type it does not know from that block on.
func TestMergePassesThrough(t *testing.T) {
	stream, file, first := archives(t)
	s := testutil.SharedPostgres(t)
	db := s.CreateDB(t)
	s.Exec(t, db, archiveSQL)
	newer := bytes.Clone(stream)
	newer[6] = 99 // archive version 1.99
	oddBlock := bytes.Clone(stream)
	oddBlock[first] = 9
	// The first block's dump id (a sign byte, then 4 bytes least significant
	// first) made one the TOC has no data block for.
	oddID := bytes.Clone(stream)
	oddID[first+4] = 0x7f
	for name, archive := range map[string][]byte{
		"gzip":                  pgDump(t, s, db),
		"seek positions":        file,
		"version 1.99":          newer,
		"block type 9":          oddBlock,
		"unknown dump id":       oddID,
		"plain SQL":             []byte("-- PostgreSQL database dump\nSELECT 1;\n"),
		"empty":                 {},
		"shorter than a header": []byte("PGD"),
	} {
		if got := merge(t, archive, 1000); !bytes.Equal(got, archive) {
			t.Errorf("%s: merged output differs from the input (%d bytes against %d)", name, len(got), len(archive))
		}
	}
}

func TestMergeReportsATruncatedArchive(t *testing.T) {
	archive, _, first := archives(t)
	for _, at := range []int{20, first - 3, first + 3, first + 200, len(archive) - 3} {
		_, err := io.ReadAll(pgarchive.Merge(bytes.NewReader(archive[:at]), 1000))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("archive cut at byte %d of %d: err = %v, want io.ErrUnexpectedEOF", at, len(archive), err)
		}
	}
	broken := errors.New("chunk 3 of 5 is missing")
	src := io.MultiReader(bytes.NewReader(archive[:first+200]), iotest.ErrReader(broken))
	if _, err := io.ReadAll(pgarchive.Merge(src, 1000)); !errors.Is(err, broken) {
		t.Errorf("source failing after %d bytes: err = %v, want %v", first+200, err, broken)
	}
}

func FuzzMerge(f *testing.F) {
	s := testutil.SharedPostgres(f)
	db := s.CreateDB(f)
	s.Exec(f, db, `CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, NULL);
		SELECT lo_from_bytea(0, 'lo'::bytea);`)
	f.Add(pgDump(f, s, db, "--compress=0"))
	f.Add([]byte("PGDMP\x01\x10\x00\x04\x08\x01\x00"))
	f.Add([]byte("PGDMP\x01\x0e\x00\x04\x08\x01\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := io.ReadAll(pgarchive.Merge(bytes.NewReader(in), 16))
		if err == nil && len(out) > len(in) {
			t.Errorf("merged %d bytes into %d", len(in), len(out))
		}
		if err != nil && len(out) > len(in) {
			t.Errorf("merged %d bytes into %d before failing", len(in), len(out))
		}
	})
}
