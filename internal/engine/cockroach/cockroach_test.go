package cockroach_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/cockroach"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
	"github.com/coffer-dev/coffer/internal/testutil"
)

func crdbTarget(name, host string, port int, db, user, password, endpointURL string) engine.Target {
	t := engine.Target{
		Spec: v1alpha1.Target{Name: name, Cockroach: &v1alpha1.CockroachTarget{
			Host: host, Port: port, Database: db, User: user, SSLMode: "disable", EndpointURL: endpointURL,
		}},
		Namespace: "enginetest",
	}
	if password != "" {
		t.Spec.Cockroach.PasswordSecretRef = &v1alpha1.SecretKeySelector{Name: "crdb", Key: "password"}
		t.Secrets = engine.Secrets{"crdb": {"password": []byte(password)}}
	}
	return t
}

// freeEndpoint is an endpointURL on a free loopback port.
func freeEndpoint(t *testing.T) (string, string) {
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	return "http://" + addr, addr
}

// mustBeFree fails when something still listens on addr: the engine's own
// endpoint must be gone when Backup or Restore returns.
func mustBeFree(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Errorf("the push endpoint still listens on %s: %v", addr, err)
		return
	}
	_ = ln.Close()
}

func mustNameAndHide(t *testing.T, err error, target engine.Target, secrets ...string) {
	t.Helper()
	if !strings.Contains(err.Error(), `"`+target.Name()+`"`) {
		t.Errorf("error does not name the target: %v", err)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error contains a secret: %v", err)
		}
	}
}

// tarFiles lists an archive's regular files, the last copy of each.
func tarFiles(t *testing.T, archive []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("reading the archive: %v", err)
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Format != tar.FormatPAX && hdr.Format != tar.FormatUSTAR {
			t.Errorf("entry %s: type %q format %v", hdr.Name, hdr.Typeflag, hdr.Format)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = b
	}
}

// TestStandInRoundTrip: a backup streams what the nodes push as one tar
// that tar(1) extracts into the collection; the restore serves it back,
// with ranges; the destination rules hold; nothing is left listening or in
// TMPDIR.
func TestStandInRoundTrip(t *testing.T) {
	password := testutil.HostilePassword()
	crdb := startStandIn(t, password)
	endpointURL, addr := freeEndpoint(t)
	target := crdbTarget("crdb-main", "127.0.0.1", crdb.port(), "shop", "root", password, endpointURL)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := cockroach.New()

	var dump bytes.Buffer
	res, err := e.Backup(context.Background(), target, &dump)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	mustBeFree(t, addr)
	if !strings.Contains(res.ServerVersion, "CockroachDB") || res.ToolVersion == "" {
		t.Errorf("Result = %+v", res)
	}
	stmt := crdb.lastStatement()
	if !strings.HasPrefix(stmt, `BACKUP DATABASE "shop" INTO '`+endpointURL+pushendpoint.Prefix) {
		t.Errorf("statement %s", stmt)
	}
	got := tarFiles(t, dump.Bytes())
	for name, want := range crdb.files {
		if !bytes.Equal(got[name], want) {
			t.Errorf("%s: %d bytes in the archive, want %d", name, len(got[name]), len(want))
		}
	}
	if len(got) != len(crdb.files) {
		t.Errorf("archive holds %d files, want %d", len(got), len(crdb.files))
	}
	if tarBin, err := exec.LookPath("tar"); err == nil {
		dir := t.TempDir()
		cmd := exec.Command(tarBin, "-x", "-C", dir)
		cmd.Stdin = bytes.NewReader(dump.Bytes())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tar -x: %v\n%s", err, out)
		}
		for name, want := range crdb.files {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(b, want) {
				t.Errorf("tar -x: %s differs (%v)", name, err)
			}
		}
	}

	restore := func(opts engine.RestoreOptions) error {
		err := e.Restore(context.Background(), target, bytes.NewReader(dump.Bytes()), opts)
		mustBeFree(t, addr)
		return err
	}
	if err := restore(engine.RestoreOptions{IntoDatabase: "shop_copy"}); err != nil {
		t.Fatalf("Restore into a new database: %v", err)
	}
	if stmt := crdb.lastStatement(); !strings.HasSuffix(stmt, `' WITH new_db_name = 'shop_copy'`) {
		t.Errorf("statement %s", stmt)
	}
	err = restore(engine.RestoreOptions{})
	if !errors.Is(err, engine.ErrNotEmpty) || !strings.Contains(err.Error(), `"shop"`) {
		t.Fatalf("Restore onto the source without Clean: error = %v, want ErrNotEmpty naming it", err)
	}
	if err := restore(engine.RestoreOptions{Clean: true}); err != nil {
		t.Fatalf("Restore onto the source with Clean: %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("files left in TMPDIR: %v", left)
	}
}

// TestStandInShared: with the runner's endpoint (Push), sessions open
// there, and the target needs no endpointURL.
func TestStandInShared(t *testing.T) {
	crdb := startStandIn(t, "pw")
	var ep *pushendpoint.Endpoint
	srv := httptest.NewServer(httpHandler(func() *pushendpoint.Endpoint { return ep }))
	defer srv.Close()
	var err error
	if ep, err = pushendpoint.New(srv.URL, nil); err != nil {
		t.Fatal(err)
	}
	target := crdbTarget("crdb-shared", "127.0.0.1", crdb.port(), "shop", "root", "pw", "")
	e := &cockroach.Engine{Push: ep}
	var dump bytes.Buffer
	if _, err := e.Backup(context.Background(), target, &dump); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if !strings.Contains(crdb.lastStatement(), "'"+srv.URL+pushendpoint.Prefix) {
		t.Errorf("statement %s", crdb.lastStatement())
	}
	if err := e.Restore(context.Background(), target, &dump, engine.RestoreOptions{IntoDatabase: "copy"}); err != nil {
		t.Fatalf("Restore: %v", err)
	}
}

// TestStandInFailures: the stream, the context and the archive failing.
func TestStandInFailures(t *testing.T) {
	crdb := startStandIn(t, "pw")
	endpointURL, addr := freeEndpoint(t)
	target := crdbTarget("crdb-fails", "127.0.0.1", crdb.port(), "shop", "root", "pw", endpointURL)
	e := cockroach.New()
	var dump bytes.Buffer
	if _, err := e.Backup(context.Background(), target, &dump); err != nil {
		t.Fatal(err)
	}

	t.Run("WriterFails", func(t *testing.T) {
		_, err := e.Backup(context.Background(), target, &failingWriter{left: 64 << 10})
		mustBeFree(t, addr)
		if !errors.Is(err, errWrite) {
			t.Fatalf("error = %v, want it to wrap %v", err, errWrite)
		}
		mustNameAndHide(t, err, target, "pw")
		t.Log(err)
	})
	t.Run("Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		crdb.mu.Lock()
		crdb.pushed = func(string) { cancel() }
		crdb.mu.Unlock()
		defer func() {
			crdb.mu.Lock()
			crdb.pushed = nil
			crdb.mu.Unlock()
		}()
		start := time.Now()
		_, err := e.Backup(ctx, target, io.Discard)
		mustBeFree(t, addr)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("cancelling took %v", d)
		}
	})
	t.Run("ReaderFails", func(t *testing.T) {
		r := &failingReader{r: bytes.NewReader(dump.Bytes()), left: dump.Len() / 2}
		before := len(crdb.statements)
		err := e.Restore(context.Background(), target, r, engine.RestoreOptions{Clean: true})
		if !errors.Is(err, errRead) {
			t.Fatalf("error = %v, want it to wrap %v", err, errRead)
		}
		crdb.mu.Lock()
		defer crdb.mu.Unlock()
		for _, s := range crdb.statements[before:] {
			if strings.HasPrefix(s, "DROP") || strings.HasPrefix(s, "RESTORE") {
				t.Errorf("sent %s although the archive did not arrive whole", s)
			}
		}
	})
	t.Run("NotACollection", func(t *testing.T) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: "hello", Size: 2, Mode: 0o600, Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte("hi"))
		_ = tw.Close()
		err := e.Restore(context.Background(), target, &buf, engine.RestoreOptions{IntoDatabase: "x"})
		if err == nil || !strings.Contains(err.Error(), "LATEST") {
			t.Fatalf("error = %v, want it to miss LATEST", err)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		bad := testutil.HostilePassword()
		target := crdbTarget("crdb-badpw", "127.0.0.1", crdb.port(), "shop", "root", bad, endpointURL)
		_, err := e.Backup(context.Background(), target, io.Discard)
		if err == nil {
			t.Fatal("Backup succeeded")
		}
		mustNameAndHide(t, err, target, bad)
		err = e.Restore(context.Background(), target, bytes.NewReader(dump.Bytes()), engine.RestoreOptions{IntoDatabase: "y"})
		if err == nil {
			t.Fatal("Restore succeeded")
		}
		mustNameAndHide(t, err, target, bad)
		mustBeFree(t, addr)
	})
}

var (
	errWrite = errors.New("test: storage write failed")
	errRead  = errors.New("test: storage read failed")
)

type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errWrite
	}
	w.left -= len(p)
	return len(p), nil
}

type failingReader struct {
	r    io.Reader
	left int
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, errRead
	}
	if len(p) > r.left {
		p = p[:r.left]
	}
	n, err := r.r.Read(p)
	r.left -= n
	return n, err
}

// TestPostgreSQLSaysSyntaxError sends the engine's statements to a real
// PostgreSQL server, which checks the password like CockroachDB does and
// rejects BACKUP and RESTORE as syntax errors: the engine must report the
// server's error cleanly, naming the target, with its SQLSTATE, without
// the password, and leave nothing listening.
func TestPostgreSQLSaysSyntaxError(t *testing.T) {
	pg := testutil.PrivatePostgres(t)
	pg.Exec(t, "postgres", "CREATE DATABASE defaultdb")
	src := pg.CreateDB(t)
	pg.Exec(t, src, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)")
	endpointURL, addr := freeEndpoint(t)
	target := crdbTarget("crdb-on-pg", pg.Host, pg.Port, src, pg.User, pg.Password, endpointURL)
	e := cockroach.New()
	syntaxError := func(t *testing.T, err error) {
		t.Helper()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42601" {
			t.Fatalf("error = %v, want the server's syntax error (42601)", err)
		}
		mustNameAndHide(t, err, target, pg.Password)
		mustBeFree(t, addr)
		t.Log(err)
	}
	// A collection as small as can be: what Restore needs to get to RESTORE.
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	_ = tw.WriteHeader(&tar.Header{Name: "LATEST", Size: 4, Mode: 0o600, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("/x/y"))
	_ = tw.Close()

	t.Run("Backup", func(t *testing.T) {
		var w bytes.Buffer
		_, err := e.Backup(context.Background(), target, &w)
		syntaxError(t, err)
		if !strings.Contains(err.Error(), "BACKUP failed") {
			t.Errorf("error does not say which statement failed: %v", err)
		}
	})
	t.Run("RestoreIntoNewDatabase", func(t *testing.T) {
		into := testutil.UniqueName()
		err := e.Restore(context.Background(), target, bytes.NewReader(archive.Bytes()), engine.RestoreOptions{IntoDatabase: into})
		syntaxError(t, err)
		if !strings.Contains(err.Error(), "RESTORE failed") || !strings.Contains(err.Error(), into) {
			t.Errorf("error does not say which statement failed, and where: %v", err)
		}
	})
	t.Run("RestoreRefusesNonEmpty", func(t *testing.T) {
		err := e.Restore(context.Background(), target, bytes.NewReader(archive.Bytes()), engine.RestoreOptions{})
		if !errors.Is(err, engine.ErrNotEmpty) || !strings.Contains(err.Error(), src) {
			t.Fatalf("error = %v, want ErrNotEmpty naming %s", err, src)
		}
		mustBeFree(t, addr)
		var n int
		if err := pg.Conn(t, src).QueryRow(context.Background(), "SELECT count(*) FROM kept").Scan(&n); err != nil || n != 1 {
			t.Errorf("the refused destination changed: %d rows, %v", n, err)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		bad := testutil.HostilePassword()
		target := crdbTarget("crdb-badpw", pg.Host, pg.Port, src, pg.User, bad, endpointURL)
		_, err := e.Backup(context.Background(), target, io.Discard)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			t.Fatalf("error = %v, want authentication failure (28P01)", err)
		}
		mustNameAndHide(t, err, target, bad, pg.Password)
	})
	t.Run("Unreachable", func(t *testing.T) {
		target := crdbTarget("crdb-nowhere", "127.0.0.1", testutil.ClosedPort(t), src, pg.User, "x", endpointURL)
		_, err := e.Backup(context.Background(), target, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("error = %v, want connection refused", err)
		}
		mustNameAndHide(t, err, target)
		mustBeFree(t, addr)
	})
	t.Run("NoEndpointURL", func(t *testing.T) {
		target := crdbTarget("crdb-noendpoint", pg.Host, pg.Port, src, pg.User, pg.Password, "")
		_, err := e.Backup(context.Background(), target, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "endpointURL is required") {
			t.Fatalf("error = %v", err)
		}
		mustNameAndHide(t, err, target, pg.Password)
	})
	t.Run("EndpointPortTaken", func(t *testing.T) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, err = e.Backup(context.Background(), target, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "push endpoint") {
			t.Fatalf("error = %v, want it to say the endpoint cannot listen", err)
		}
		mustNameAndHide(t, err, target, pg.Password)
	})
}
