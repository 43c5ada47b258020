package cockroach_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// standIn stands in for a CockroachDB node, which cannot be installed
// here. It speaks just enough of the PostgreSQL protocol for the engine
// (startup with a cleartext password, simple queries, cancel requests) and
// answers BACKUP and RESTORE by doing over HTTP what CockroachDB's http
// external storage does (pkg/cloud/httpsink): PUTs with bodies of unknown
// length, several at once, a checkpoint written twice and read back, LATEST
// written last; on RESTORE, reads of LATEST and of every file, each
// interrupted and resumed with "Range: bytes=<offset>-". It proves the
// engine's plumbing end to end, not that CockroachDB accepts the statements.
type standIn struct {
	t        *testing.T
	ln       net.Listener
	password string
	// files is the collection a BACKUP pushes, by path in the collection.
	files map[string][]byte

	mu         sync.Mutex
	dbs        map[string]bool
	statements []string
	running    map[uint32]context.CancelFunc
	nextPID    uint32
	// pushed is called after each file a BACKUP pushed.
	pushed func(name string)
	// restoring, when set, may fail the RESTORE of a database under the
	// name into, after it read the files.
	restoring func(into string) error
}

const backupSubdir = "2026/11/21-103000.00"

func startStandIn(t *testing.T, password string) *standIn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &standIn{t: t, ln: ln, password: password, dbs: map[string]bool{"defaultdb": true, "shop": true},
		running: map[uint32]context.CancelFunc{}, files: map[string][]byte{}}
	random := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	s.files[backupSubdir+"/BACKUP_MANIFEST"] = random(2048)
	s.files[backupSubdir+"/BACKUP_MANIFEST-CHECKSUM"] = random(4)
	for i, size := range []int{0, 1000, 300_000, 5_000_000, 1 << 20, 70_000} {
		s.files[fmt.Sprintf("%s/data/%d.sst", backupSubdir, 900+i)] = random(size)
	}
	s.files["progress/BACKUP-CHECKPOINT-CHECKSUM"] = []byte("checkpoint 2")
	s.files["LATEST"] = []byte("/" + backupSubdir)
	go s.serve()
	t.Cleanup(func() { _ = ln.Close() })
	return s
}

func (s *standIn) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *standIn) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *standIn) session(c net.Conn) {
	defer c.Close()
	be := pgproto3.NewBackend(c, c)
	msg, err := be.ReceiveStartupMessage()
	if _, ok := msg.(*pgproto3.SSLRequest); ok {
		if _, err := c.Write([]byte("N")); err != nil {
			return
		}
		msg, err = be.ReceiveStartupMessage()
	}
	if err != nil {
		return
	}
	switch m := msg.(type) {
	case *pgproto3.CancelRequest:
		s.mu.Lock()
		if cancel := s.running[m.ProcessID]; cancel != nil {
			cancel()
		}
		s.mu.Unlock()
		return
	case *pgproto3.StartupMessage:
	default:
		return
	}
	be.Send(&pgproto3.AuthenticationCleartextPassword{})
	if be.Flush() != nil || be.SetAuthType(pgproto3.AuthTypeCleartextPassword) != nil {
		return
	}
	msg, err = be.Receive()
	if pw, ok := msg.(*pgproto3.PasswordMessage); err != nil || !ok || pw.Password != s.password {
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: "password authentication failed for user"})
		_ = be.Flush()
		return
	}
	s.mu.Lock()
	s.nextPID++
	pid := s.nextPID
	s.mu.Unlock()
	be.Send(&pgproto3.AuthenticationOk{})
	for k, v := range map[string]string{"server_version": "13.0.0", "standard_conforming_strings": "on", "client_encoding": "UTF8"} {
		be.Send(&pgproto3.ParameterStatus{Name: k, Value: v})
	}
	be.Send(&pgproto3.BackendKeyData{ProcessID: pid, SecretKey: []byte{1, 2, 3, 4}})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	if be.Flush() != nil {
		return
	}
	for {
		msg, err := be.Receive()
		if err != nil {
			return
		}
		q, ok := msg.(*pgproto3.Query)
		if !ok {
			return // Terminate, or a message the engine does not send
		}
		ctx, cancel := context.WithCancel(context.Background())
		s.mu.Lock()
		s.running[pid] = cancel
		s.statements = append(s.statements, q.String)
		s.mu.Unlock()
		rows, tag, err := s.query(ctx, q.String)
		if ctx.Err() != nil && err != nil {
			err = sqlError("57014", "query execution canceled")
		}
		cancel()
		var sqlErr serverError
		switch {
		case errors.As(err, &sqlErr):
			be.Send(sqlErr.ErrorResponse)
		case err != nil:
			be.Send(&pgproto3.ErrorResponse{Severity: "ERROR", Code: "XXUUU", Message: err.Error()})
		default:
			if rows != nil {
				oid, size := uint32(25), int16(-1) // text
				if strings.HasPrefix(q.String, "SELECT count(") {
					oid, size = 20, 8 // int8
				}
				be.Send(&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{Name: []byte("result"), DataTypeOID: oid, DataTypeSize: size, TypeModifier: -1}}})
				for _, r := range rows {
					be.Send(&pgproto3.DataRow{Values: [][]byte{[]byte(r)}})
				}
			}
			be.Send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
		}
		be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		if be.Flush() != nil {
			return
		}
	}
}

// serverError is an error the stand-in reports with its SQLSTATE.
type serverError struct{ *pgproto3.ErrorResponse }

func (e serverError) Error() string { return e.Message }

func sqlError(code, msg string) error {
	return serverError{&pgproto3.ErrorResponse{Severity: "ERROR", Code: code, Message: msg}}
}

var (
	backupRE   = regexp.MustCompile(`^BACKUP DATABASE "((?:[^"]|"")*)" INTO '((?:[^']|'')*)' AS OF SYSTEM TIME '-10s'$`)
	restoreRE  = regexp.MustCompile(`^RESTORE DATABASE "((?:[^"]|"")*)" FROM LATEST IN '((?:[^']|'')*)'(?: WITH new_db_name = '((?:[^']|'')*)')?$`)
	dropRE     = regexp.MustCompile(`^DROP DATABASE IF EXISTS "((?:[^"]|"")*)" CASCADE$`)
	databaseRE = regexp.MustCompile(`^SELECT count\(\*\) FROM pg_database WHERE datname = \s*'((?:[^']|'')*)'\s*$`)
)

// query answers one statement with rows of one text column, or an error.
func (s *standIn) query(ctx context.Context, q string) ([]string, string, error) {
	unquote := func(v, quote string) string { return strings.ReplaceAll(v, quote+quote, quote) }
	switch {
	case q == "SELECT version()":
		return []string{"CockroachDB CCL v0.0.0-standin (coffer test)"}, "SELECT 1", nil
	case databaseRE.MatchString(q):
		db := unquote(databaseRE.FindStringSubmatch(q)[1], "'")
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.dbs[db] {
			return []string{"1"}, "SELECT 1", nil
		}
		return []string{"0"}, "SELECT 1", nil
	case strings.Contains(q, "information_schema.tables"):
		return []string{"3"}, "SELECT 1", nil
	case dropRE.MatchString(q):
		s.mu.Lock()
		delete(s.dbs, unquote(dropRE.FindStringSubmatch(q)[1], `"`))
		s.mu.Unlock()
		return nil, "DROP DATABASE", nil
	case backupRE.MatchString(q):
		m := backupRE.FindStringSubmatch(q)
		if err := s.backup(ctx, unquote(m[2], "'")); err != nil {
			return nil, "", fmt.Errorf("failed to write backup files: %w", err)
		}
		return []string{"1234567890"}, "BACKUP", nil
	case restoreRE.MatchString(q):
		m := restoreRE.FindStringSubmatch(q)
		into := unquote(m[1], `"`)
		if m[3] != "" {
			into = unquote(m[3], "'")
		}
		s.mu.Lock()
		exists := s.dbs[into]
		s.mu.Unlock()
		if exists {
			return nil, "", sqlError("42P04", fmt.Sprintf("database %q already exists", into))
		}
		if err := s.restore(ctx, unquote(m[2], "'")); err != nil {
			return nil, "", fmt.Errorf("reading backup files: %w", err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.restoring != nil {
			if err := s.restoring(into); err != nil {
				return nil, "", err
			}
		}
		s.dbs[into] = true
		return []string{"1234567891"}, "RESTORE", nil
	}
	return nil, "", sqlError("42601", "stand-in does not know: "+q)
}

// httpStorage is CockroachDB's http external storage, reduced to what it
// does: PUT through a pipe (no Content-Length), GET from an offset.
type httpStorage struct {
	base   *url.URL
	client *http.Client
}

func (h httpStorage) req(ctx context.Context, method, file string, body io.Reader, headers map[string]string) (*http.Response, error) {
	dest := *h.base
	dest.Path = path.Join(dest.Path, file)
	req, err := http.NewRequestWithContext(ctx, method, dest.String(), body)
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case 200, 201, 204, 206:
		return resp, nil
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return nil, fmt.Errorf("error response from server: %s %q", resp.Status, b)
}

func (h httpStorage) write(ctx context.Context, file string, content []byte) error {
	pr, pw := io.Pipe()
	go func() {
		for b := content; len(b) > 0; b = b[min(len(b), 32<<10):] {
			if _, err := pw.Write(b[:min(len(b), 32<<10)]); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	resp, err := h.req(ctx, http.MethodPut, file, pr, nil)
	if err != nil {
		_ = pr.CloseWithError(err)
		return err
	}
	return resp.Body.Close()
}

// read reads file in two requests, the second from the offset where the
// first was broken off, as CockroachDB's resuming reader does.
func (h httpStorage) read(ctx context.Context, file string) ([]byte, error) {
	resp, err := h.req(ctx, http.MethodGet, file, nil, nil)
	if err != nil {
		return nil, err
	}
	size := resp.ContentLength
	if size < 2 {
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	first := make([]byte, size/2)
	_, err = io.ReadFull(resp.Body, first)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.Header.Get("Accept-Ranges") != "bytes" {
		return nil, errors.New("cannot resume: no Accept-Ranges")
	}
	resp, err = h.req(ctx, http.MethodGet, file, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(first))})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var start, end, total int64
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil ||
		start != int64(len(first)) || total != size {
		return nil, fmt.Errorf("bad Content-Range %q", resp.Header.Get("Content-Range"))
	}
	rest, err := io.ReadAll(resp.Body)
	return append(first, rest...), err
}

func (s *standIn) storage(collection string) (httpStorage, error) {
	u, err := url.Parse(collection)
	return httpStorage{base: u, client: &http.Client{Timeout: time.Minute}}, err
}

// backup pushes the collection: data files three at a time, the manifest,
// a checkpoint twice (read back), LATEST last.
func (s *standIn) backup(ctx context.Context, collection string) error {
	h, err := s.storage(collection)
	if err != nil {
		return err
	}
	if _, err := h.read(ctx, backupSubdir+"/BACKUP_MANIFEST"); err == nil || !strings.Contains(err.Error(), "404") {
		return fmt.Errorf("a manifest is already there, or: %v", err)
	}
	var names []string
	for name := range s.files {
		if strings.Contains(name, "/data/") {
			names = append(names, name)
		}
	}
	sem := make(chan struct{}, 3)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- s.push(ctx, h, name, s.files[name])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	if err := s.push(ctx, h, "progress/BACKUP-CHECKPOINT-CHECKSUM", []byte("checkpoint 1")); err != nil {
		return err
	}
	if err := s.push(ctx, h, "progress/BACKUP-CHECKPOINT-CHECKSUM", s.files["progress/BACKUP-CHECKPOINT-CHECKSUM"]); err != nil {
		return err
	}
	if cp, err := h.read(ctx, "progress/BACKUP-CHECKPOINT-CHECKSUM"); err != nil || string(cp) != "checkpoint 2" {
		return fmt.Errorf("reading the checkpoint back: %q, %v", cp, err)
	}
	for _, name := range []string{backupSubdir + "/BACKUP_MANIFEST", backupSubdir + "/BACKUP_MANIFEST-CHECKSUM", "LATEST"} {
		if err := s.push(ctx, h, name, s.files[name]); err != nil {
			return err
		}
	}
	return nil
}

func (s *standIn) push(ctx context.Context, h httpStorage, name string, content []byte) error {
	if err := h.write(ctx, name, content); err != nil {
		return err
	}
	s.mu.Lock()
	hook := s.pushed
	s.mu.Unlock()
	if hook != nil {
		hook(name)
	}
	return ctx.Err()
}

// restore reads LATEST, then every file of the backup, and compares.
func (s *standIn) restore(ctx context.Context, collection string) error {
	h, err := s.storage(collection)
	if err != nil {
		return err
	}
	latest, err := h.read(ctx, "LATEST")
	if err != nil {
		return err
	}
	if string(latest) != "/"+backupSubdir {
		return fmt.Errorf("LATEST is %q", latest)
	}
	for name, want := range s.files {
		if !strings.HasPrefix(name, backupSubdir) {
			continue
		}
		got, err := h.read(ctx, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s: read %d bytes that differ from the %d pushed", name, len(got), len(want))
		}
	}
	return nil
}

func (s *standIn) lastStatement() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.statements) == 0 {
		return ""
	}
	return s.statements[len(s.statements)-1]
}

// httpHandler serves the endpoint it returns, which may be made after the
// server that needs its URL.
type httpHandler func() *pushendpoint.Endpoint

func (h httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h().ServeHTTP(w, r) }
