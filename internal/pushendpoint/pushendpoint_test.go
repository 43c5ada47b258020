package pushendpoint_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// crdbClient does what CockroachDB's http external storage does
// (pkg/cloud/httpsink): PUT with a body of unknown length (an io.Pipe, so
// the request is chunked), GET with "Range: bytes=<offset>-" for offsets
// past 0 (checking Content-Range), HEAD for the size, DELETE; any status
// but 200, 201, 204 and 206 is an error, 404 meaning "does not exist".
type crdbClient struct {
	base   *url.URL
	client *http.Client
}

var errNotExist = errors.New("http storage file does not exist")

func newCRDBClient(t *testing.T, sessionURL string) *crdbClient {
	t.Helper()
	u, err := url.Parse(sessionURL)
	if err != nil {
		t.Fatal(err)
	}
	return &crdbClient{base: u, client: &http.Client{Timeout: time.Minute}}
}

func (c *crdbClient) req(ctx context.Context, method, file string, body io.Reader, headers map[string]string) (*http.Response, error) {
	dest := *c.base
	dest.Path = path.Join(dest.Path, file)
	req, err := http.NewRequestWithContext(ctx, method, dest.String(), body)
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		req.Header.Add(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case 200, 201, 204, 206:
		return resp, nil
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	err = fmt.Errorf("error response from server: %s %q", resp.Status, b)
	if resp.StatusCode == 404 {
		err = fmt.Errorf("%w: %v", errNotExist, err)
	}
	return nil, err
}

// writeFile is httpStorage.Writer: the content goes through a pipe.
func (c *crdbClient) writeFile(ctx context.Context, file string, content []byte) error {
	pr, pw := io.Pipe()
	go func() {
		// Written in pieces, as CockroachDB's writers do.
		for b := content; len(b) > 0; {
			n := min(len(b), 100_000)
			if _, err := pw.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
		_ = pw.Close()
	}()
	resp, err := c.req(ctx, http.MethodPut, file, pr, nil)
	if err != nil {
		_ = pr.CloseWithError(err)
		return err
	}
	return resp.Body.Close()
}

// readFileAt is httpStorage.ReadFile with an offset: it returns the
// content from offset and the file's size.
func (c *crdbClient) readFileAt(ctx context.Context, file string, offset int64) ([]byte, int64, error) {
	var headers map[string]string
	if offset > 0 {
		headers = map[string]string{"Range": fmt.Sprintf("bytes=%d-", offset)}
	}
	resp, err := c.req(ctx, http.MethodGet, file, nil, headers)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	size := resp.ContentLength
	if offset > 0 {
		if size, err = checkContentRange(resp.Header.Get("Content-Range"), offset); err != nil {
			return nil, 0, err
		}
	}
	if resp.Header.Get("Accept-Ranges") != "bytes" {
		return nil, 0, errors.New("no Accept-Ranges: bytes (CockroachDB could not resume)")
	}
	b, err := io.ReadAll(resp.Body)
	return b, size, err
}

// checkContentRange is cloud.CheckHTTPContentRangeHeader: "bytes a-b/size"
// with a the requested offset.
func checkContentRange(h string, offset int64) (int64, error) {
	var start, end, size int64
	if _, err := fmt.Sscanf(h, "bytes %d-%d/%d", &start, &end, &size); err != nil {
		return 0, fmt.Errorf("malformed Content-Range %q: %w", h, err)
	}
	if start != offset {
		return 0, fmt.Errorf("Content-Range %q starts at %d, want %d", h, start, offset)
	}
	return size, nil
}

func (c *crdbClient) size(ctx context.Context, file string) (int64, error) {
	resp, err := c.req(ctx, http.MethodHead, file, nil, nil)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	if resp.ContentLength < 0 {
		return 0, fmt.Errorf("bad ContentLength: %d", resp.ContentLength)
	}
	return resp.ContentLength, nil
}

func (c *crdbClient) delete(ctx context.Context, file string) error {
	resp, err := c.req(ctx, http.MethodDelete, file, nil, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// server serves an Endpoint on a real loopback listener, logging at debug
// level into the returned buffer.
func server(t *testing.T) (*pushendpoint.Endpoint, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	var ep *pushendpoint.Endpoint
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ep.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	var err error
	ep, err = pushendpoint.New(srv.URL, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	return ep, logs
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func token(sessionURL string) string {
	return strings.TrimSuffix(sessionURL[strings.Index(sessionURL, pushendpoint.Prefix)+len(pushendpoint.Prefix):], "/")
}

// TestBackupSession plays a CockroachDB BACKUP against a TarSink: many
// files written concurrently, some larger than what is held in memory, a
// file written twice, metadata read back, a deletion; then the archive is
// extracted and compared.
func TestBackupSession(t *testing.T) {
	ep, logs := server(t)
	var archive bytes.Buffer
	spill := t.TempDir()
	sink := pushendpoint.NewTarSink(&archive, pushendpoint.TarSinkOptions{
		MemoryPerFile: 256 << 10, Spooling: 3, TempDir: spill, KeepSize: 64 << 10,
	})
	session, sessionURL := ep.Open("crdb-backup", sink)
	c := newCRDBClient(t, sessionURL)
	ctx := context.Background()

	want := map[string][]byte{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 24 {
		name := fmt.Sprintf("2026/11/21-103000.00/data/%d.sst", 1000+i)
		content := randomBytes((i % 6) * 150_000) // 0 to 750 kB: some spill
		mu.Lock()
		want[name] = content
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.writeFile(ctx, name, content); err != nil {
				errs <- fmt.Errorf("PUT %s: %w", name, err)
			}
		}()
	}
	// Before the backup writes anything, it checks that no manifest is there.
	if _, _, err := c.readFileAt(ctx, "2026/11/21-103000.00/BACKUP_MANIFEST", 0); !errors.Is(err, errNotExist) {
		t.Errorf("reading a file never written: error = %v, want does-not-exist", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Checkpoints are rewritten, and read back.
	for i := range 3 {
		cp := []byte(fmt.Sprintf("checkpoint %d", i))
		if err := c.writeFile(ctx, "progress/BACKUP-CHECKPOINT-CHECKSUM", cp); err != nil {
			t.Fatal(err)
		}
		want["progress/BACKUP-CHECKPOINT-CHECKSUM"] = cp
	}
	got, size, err := c.readFileAt(ctx, "progress/BACKUP-CHECKPOINT-CHECKSUM", 0)
	if err != nil || string(got) != "checkpoint 2" || size != int64(len(got)) {
		t.Errorf("reading the checkpoint back: %q, %d, %v", got, size, err)
	}
	got, size, err = c.readFileAt(ctx, "progress/BACKUP-CHECKPOINT-CHECKSUM", 6)
	if err != nil || string(got) != "oint 2" || size != 12 {
		t.Errorf("reading the checkpoint from offset 6: %q, %d, %v", got, size, err)
	}
	if n, err := c.size(ctx, "progress/BACKUP-CHECKPOINT-CHECKSUM"); err != nil || n != 12 {
		t.Errorf("HEAD of the checkpoint: %d, %v", n, err)
	}
	// A large file was streamed on: reading it back is an error, not a
	// "does not exist" that could mislead the pusher.
	_, _, err = c.readFileAt(ctx, "2026/11/21-103000.00/data/1005.sst", 0)
	if err == nil || errors.Is(err, errNotExist) || !strings.Contains(err.Error(), "410") {
		t.Errorf("reading a streamed file back: error = %v, want 410 Gone", err)
	}
	// Lock files come and go.
	if err := c.writeFile(ctx, "BACKUP-LOCK-42", []byte("lock")); err != nil {
		t.Fatal(err)
	}
	if err := c.delete(ctx, "BACKUP-LOCK-42"); err != nil {
		t.Errorf("DELETE: %v", err)
	}
	if err := c.delete(ctx, "BACKUP-LOCK-42"); !errors.Is(err, errNotExist) {
		t.Errorf("second DELETE: error = %v, want does-not-exist", err)
	}
	want["BACKUP-LOCK-42"] = []byte("lock") // stale: the archive keeps it
	if err := c.writeFile(ctx, "LATEST", []byte("/2026/11/21-103000.00")); err != nil {
		t.Fatal(err)
	}
	want["LATEST"] = []byte("/2026/11/21-103000.00")

	session.Close()
	if err := session.Err(); err != nil {
		t.Fatalf("session error: %v", err)
	}
	if err := sink.Close(); err != nil {
		t.Fatalf("closing the sink: %v", err)
	}
	if err := c.writeFile(ctx, "late", []byte("x")); !errors.Is(err, errNotExist) {
		t.Errorf("PUT after Close: error = %v, want 404", err)
	}
	stats := sink.Stats()
	if stats.Files != 24+3+2 || stats.Stale != 1 {
		t.Errorf("stats = %+v, want 29 files, 1 stale", stats)
	}
	if left, _ := os.ReadDir(spill); len(left) > 0 {
		t.Errorf("spooled files left behind: %v", left)
	}

	dir := t.TempDir()
	if _, err := pushendpoint.ExtractTar(ctx, bytes.NewReader(archive.Bytes()), dir); err != nil {
		t.Fatalf("ExtractTar: %v", err)
	}
	for name, content := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(b, content) {
			t.Errorf("%s: extracted %d bytes (%v), want %d", name, len(b), err, len(content))
		}
	}
	if strings.Contains(logs.String(), token(sessionURL)) {
		t.Error("the logs contain the session token")
	}
	if !strings.Contains(logs.String(), "data/1000.sst") {
		t.Error("the logs do not name the files")
	}
}

// TestRestoreSession: RESTORE reads from offsets, and cannot write.
func TestRestoreSession(t *testing.T) {
	ep, _ := server(t)
	dir := t.TempDir()
	content := randomBytes(1 << 20)
	if err := os.MkdirAll(filepath.Join(dir, "2026/data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "2026/data/1.sst"), content, 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := pushendpoint.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	session, sessionURL := ep.Open("crdb-restore", files)
	defer session.Close()
	c := newCRDBClient(t, sessionURL)
	ctx := context.Background()

	for _, offset := range []int64{0, 1, 4096, int64(len(content)) - 1} {
		got, size, err := c.readFileAt(ctx, "2026/data/1.sst", offset)
		if err != nil {
			t.Fatalf("read from %d: %v", offset, err)
		}
		if size != int64(len(content)) || !bytes.Equal(got, content[offset:]) {
			t.Errorf("read from %d: %d bytes of a %d-byte file, want %d of %d", offset, len(got), size, len(content)-int(offset), len(content))
		}
	}
	// A bounded range, as a resuming reader of another version might ask.
	resp, err := c.req(ctx, http.MethodGet, "2026/data/1.sst", nil, map[string]string{"Range": "bytes=10-19"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, content[10:20]) ||
		resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 10-19/%d", len(content)) {
		t.Errorf("bytes=10-19: %s, %q, %d bytes", resp.Status, resp.Header.Get("Content-Range"), len(got))
	}
	if n, err := c.size(ctx, "2026/data/1.sst"); err != nil || n != int64(len(content)) {
		t.Errorf("HEAD: %d, %v", n, err)
	}
	for name, err := range map[string]error{
		"missing":   func() error { _, _, err := c.readFileAt(ctx, "2026/data/2.sst", 0); return err }(),
		"directory": func() error { _, _, err := c.readFileAt(ctx, "2026/data", 0); return err }(),
	} {
		if !errors.Is(err, errNotExist) {
			t.Errorf("%s: error = %v, want does-not-exist", name, err)
		}
	}
	if err := c.writeFile(ctx, "2026/data/1.sst", []byte("x")); err == nil || !strings.Contains(err.Error(), "405") {
		t.Errorf("PUT into a restore session: error = %v, want 405", err)
	}
	if err := c.delete(ctx, "2026/data/1.sst"); err == nil || !strings.Contains(err.Error(), "405") {
		t.Errorf("DELETE in a restore session: error = %v, want 405", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "2026/data/1.sst")); !bytes.Equal(b, content) {
		t.Error("the restore session changed a file")
	}
}

// TestStrangers: a wrong or expired token, or a path that leaves the
// session, gets exactly the answer a missing file gets.
func TestStrangers(t *testing.T) {
	ep, logs := server(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := pushendpoint.OpenDir(filepath.Join(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	live, liveURL := ep.Open("live", files)
	defer live.Close()
	closed, closedURL := ep.Open("closed", files)
	closed.Close()
	base := strings.TrimSuffix(liveURL, token(liveURL)+"/")

	answer := func(method, rawURL string) string {
		req, err := http.NewRequest(method, rawURL, strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		h := resp.Header.Clone()
		h.Del("Date")
		return fmt.Sprintf("%d %v %q", resp.StatusCode, h, body)
	}
	want := answer(http.MethodGet, liveURL+"missing")
	if !strings.HasPrefix(want, "404 ") {
		t.Fatalf("missing file: %s", want)
	}
	for name, u := range map[string]string{
		"wrong token":             base + "AAAA" + token(liveURL)[4:] + "/secret",
		"closed session":          closedURL + "secret",
		"no file":                 liveURL,
		"no token":                base,
		"token prefix":            base + token(liveURL)[:20] + "/secret",
		"dot dot":                 liveURL + "a/%2E%2E/secret",
		"escaped slash":           liveURL + "..%2Fsecret",
		"outside the prefix":      strings.TrimSuffix(base, pushendpoint.Prefix) + "/v1/other/" + token(liveURL) + "/secret",
		"wrong token with PUT":    base + "BBBB" + token(liveURL)[4:] + "/secret",
		"wrong token, bad method": base + "CCCC" + token(liveURL)[4:] + "/secret",
	} {
		method := http.MethodGet
		switch name {
		case "wrong token with PUT":
			method = http.MethodPut
		case "wrong token, bad method":
			method = "PATCH"
		}
		if got := answer(method, u); got != want {
			t.Errorf("%s: answer %s, want the missing file's %s", name, got, want)
		}
	}
	if got := answer(http.MethodGet, liveURL+"secret"); !strings.HasPrefix(got, "200 ") {
		t.Errorf("the live session's file: %s", got)
	}
	if strings.Contains(logs.String(), token(liveURL)) || strings.Contains(logs.String(), token(closedURL)) {
		t.Error("the logs contain a session token")
	}
}

// TestCloseCutsRequests: Close returns promptly although a pusher is half
// way through a PUT and sends nothing more; that file is not in the
// archive, which stays valid.
func TestCloseCutsRequests(t *testing.T) {
	ep, _ := server(t)
	var archive bytes.Buffer
	sink := pushendpoint.NewTarSink(&archive, pushendpoint.TarSinkOptions{})
	session, sessionURL := ep.Open("cut", sink)
	c := newCRDBClient(t, sessionURL)
	if err := c.writeFile(context.Background(), "complete", []byte("all of it")); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.req(context.Background(), http.MethodPut, "stalled", pr, nil)
		done <- err
	}()
	if _, err := pw.Write(randomBytes(100_000)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	session.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	_ = pw.CloseWithError(errors.New("gave up"))
	<-done
	if err := session.Err(); err != nil {
		t.Errorf("a PUT cut by Close is a session error: %v", err)
	}
	if err := sink.Close(); err != nil {
		t.Fatalf("an unfinished PUT without Content-Length broke the archive: %v", err)
	}
	dir := t.TempDir()
	if n, err := pushendpoint.ExtractTar(context.Background(), &archive, dir); err != nil || n != 1 {
		t.Fatalf("ExtractTar: %d entries, %v; want only the complete file", n, err)
	}
}

// TestSizedPutBrokenOff: a file with a Content-Length streams straight into
// the archive; when it breaks off, the archive is broken and says so.
func TestSizedPutBrokenOff(t *testing.T) {
	ep, _ := server(t)
	var archive bytes.Buffer
	sink := pushendpoint.NewTarSink(&archive, pushendpoint.TarSinkOptions{})
	session, sessionURL := ep.Open("sized", sink)
	defer session.Close()
	u := sessionURL + "pvc.tar"

	// A whole file with its length first.
	content := randomBytes(3 << 20)
	resp, err := http.Post(u, "", bytes.NewReader(nil)) // POST is not a method of the endpoint
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(content))
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT with Content-Length: %v %v", resp, err)
	}
	_ = resp.Body.Close()

	// Then one that promises more than it sends.
	pr, pw := io.Pipe()
	req, _ = http.NewRequest(http.MethodPut, sessionURL+"short.tar", pr)
	req.ContentLength = 1 << 20
	go func() {
		_, _ = pw.Write(randomBytes(1000))
		_ = pw.CloseWithError(errors.New("pusher died"))
	}()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_ = resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for sink.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if sink.Err() == nil {
		t.Fatal("the archive is not marked broken")
	}
	session.Close()
	if err := sink.Close(); err == nil {
		t.Error("closing a broken archive succeeded")
	}
	t.Logf("broken archive: %v", sink.Err())
}

// TestStreamFails: when the backup stream fails, the pusher gets a 500
// without details, and the session and sink report the cause.
func TestStreamFails(t *testing.T) {
	ep, logs := server(t)
	boom := errors.New("storage is down")
	sink := pushendpoint.NewTarSink(failingWriter{boom}, pushendpoint.TarSinkOptions{})
	session, sessionURL := ep.Open("fails", sink)
	c := newCRDBClient(t, sessionURL)
	err := c.writeFile(context.Background(), "1.sst", randomBytes(10_000))
	if err == nil || !strings.Contains(err.Error(), "500") || strings.Contains(err.Error(), boom.Error()) {
		t.Errorf("PUT into a failing stream: error = %v, want a bare 500", err)
	}
	session.Close()
	if !errors.Is(session.Err(), boom) || !errors.Is(sink.Close(), boom) {
		t.Errorf("session error %v, sink error %v: want both to wrap %v", session.Err(), sink.Err(), boom)
	}
	if !strings.Contains(logs.String(), boom.Error()) {
		t.Error("the runner's log does not have the cause")
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// TestSpoolingIsBounded: with Spooling 2, a third PUT without length is
// not read while two are being received.
func TestSpoolingIsBounded(t *testing.T) {
	ep, _ := server(t)
	var archive bytes.Buffer
	sink := pushendpoint.NewTarSink(&archive, pushendpoint.TarSinkOptions{Spooling: 2})
	session, sessionURL := ep.Open("bounded", sink)
	defer session.Close()
	c := newCRDBClient(t, sessionURL)
	ctx := context.Background()

	var writers []*io.PipeWriter
	var wg sync.WaitGroup
	for i := range 2 {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.req(ctx, http.MethodPut, "slow"+strconv.Itoa(i), pr, nil); err != nil {
				t.Errorf("slow PUT: %v", err)
			}
		}()
		if _, err := pw.Write([]byte("started")); err != nil {
			t.Fatal(err)
		}
	}
	// The client sending "started" does not mean the handler holds its slot
	// yet: wait until both do, or the third PUT could take one first.
	deadline := time.Now().Add(10 * time.Second)
	for sink.SpoolingNow() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the two slow PUTs hold %d spooling slots after 10 s, want 2", sink.SpoolingNow())
		}
		time.Sleep(5 * time.Millisecond)
	}
	third := make(chan error, 1)
	go func() { third <- c.writeFile(ctx, "third", []byte("small")) }()
	select {
	case err := <-third:
		t.Fatalf("the third PUT finished (%v) while two were spooling", err)
	case <-time.After(500 * time.Millisecond):
	}
	_ = writers[0].Close()
	select {
	case err := <-third:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the third PUT did not finish after a slot freed")
	}
	_ = writers[1].Close()
	wg.Wait()
}

func TestNew(t *testing.T) {
	tests := map[string]struct {
		url string
		ok  bool
	}{
		"service":      {"http://runner-shop-main.coffer-system.svc:8080", true},
		"trailing /":   {"http://127.0.0.1:8080/", true},
		"https":        {"https://runner.example", true},
		"path":         {"http://runner:8080/coffer", false},
		"query":        {"http://runner:8080?a=b", false},
		"no scheme":    {"runner:8080", false},
		"ftp":          {"ftp://runner", false},
		"user":         {"http://u:p@runner:8080", false},
		"empty":        {"", false},
		"no host":      {"http://", false},
		"bad escaping": {"http://runner:8080/%zz", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ep, err := pushendpoint.New(tc.url, nil)
			if (err == nil) != tc.ok {
				t.Fatalf("New(%q) error = %v, want ok %v", tc.url, err, tc.ok)
			}
			if err != nil {
				return
			}
			_, u := ep.Open("x", &pushendpoint.TarSink{})
			if !strings.HasPrefix(u, strings.TrimSuffix(tc.url, "/")+pushendpoint.Prefix) || !strings.HasSuffix(u, "/") || len(token(u)) < 43 {
				t.Errorf("session URL %q", u)
			}
		})
	}
}
