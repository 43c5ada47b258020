// Package pushendpoint is the runner's HTTP file endpoint for push sources:
// data the runner cannot pull, so the source pushes it. CockroachDB's
// BACKUP writes its files over HTTP (BACKUP ... INTO 'http://...') and its
// RESTORE reads them back; later, reader pods will push PVC tar streams.
//
// Each backup or restore opens a Session, which gets a random, unguessable
// token (256 bits); the session's files live under
//
//	<base URL>/v1/push/<token>/<file path>
//
// and vanish from the endpoint when the session is closed. The token is the
// only credential, so it is never logged, and a request for an unknown
// token gets the same bare 404 as a missing file of a live session: the
// endpoint tells nobody which tokens exist. Tokens are looked up by their
// SHA-256, so the lookup's timing says nothing about a token's prefix.
//
// The methods are those of CockroachDB's http external storage: PUT stores
// a file (streamed; CockroachDB sends no Content-Length), GET reads one,
// with Range ("bytes=<offset>-", answered 206 with Content-Range), HEAD
// gives its size, DELETE removes it. CockroachDB never lists over HTTP.
// What a PUT stores and what a GET reads is up to the session's Files: a
// TarSink streams a backup's files into one tar stream, a Dir serves a
// restore's files from a directory.
//
// The handler sets its own read and write deadlines on the connection
// (http.ResponseController), extended while data flows, so the server it is
// mounted on may keep tight timeouts for its other routes.
package pushendpoint

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Prefix is the path under which the endpoint serves; the runner mounts
// the Endpoint there.
const Prefix = "/v1/push/"

// idleTimeout bounds how long a request may go without a byte moving in
// either direction.
const idleTimeout = 2 * time.Minute

// Endpoint is the http.Handler for Prefix. It serves the files of the
// sessions currently open, and answers 404 to everything else.
type Endpoint struct {
	base string
	log  *slog.Logger

	mu       sync.Mutex
	sessions map[[sha256.Size]byte]*Session
}

// New returns an endpoint whose session URLs start with baseURL, the
// runner's address as push sources reach it (for example
// http://runner-shop-main.coffer-system.svc:8080). baseURL has no path,
// query or fragment. log receives one line per request (never the token);
// nil discards them.
func New(baseURL string, log *slog.Logger) (*Endpoint, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("push endpoint URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("push endpoint URL %q: want http:// or https://", baseURL)
	case u.Host == "":
		return nil, fmt.Errorf("push endpoint URL %q has no host", baseURL)
	case u.User != nil:
		return nil, fmt.Errorf("push endpoint URL %q: user information is not allowed", baseURL)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("push endpoint URL %q: the endpoint serves at %s; give the URL without path or query", baseURL, Prefix)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Endpoint{
		base:     u.Scheme + "://" + u.Host,
		log:      log,
		sessions: map[[sha256.Size]byte]*Session{},
	}, nil
}

// Session is one backup's or restore's file area on the endpoint.
type Session struct {
	ep    *Endpoint
	key   [sha256.Size]byte
	name  string
	files Files

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
	active   map[*http.ResponseController]struct{}
	err      error
}

// Open registers a session whose requests go to files, and returns it with
// its URL (ending in "/"); name identifies it in logs. The session serves
// until Close.
func (e *Endpoint) Open(name string, files Files) (*Session, string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token := base64.RawURLEncoding.EncodeToString(b)
	s := &Session{
		ep:     e,
		key:    sha256.Sum256([]byte(token)),
		name:   name,
		files:  files,
		active: map[*http.ResponseController]struct{}{},
	}
	e.mu.Lock()
	e.sessions[s.key] = s
	e.mu.Unlock()
	e.log.Debug("push session opened", "session", name)
	return s, e.base + Prefix + token + "/"
}

// Close unregisters the session: its URL answers 404 from now on. Requests
// still running are cut (their connection's deadlines are set to now), and
// Close returns once none runs any more, so the session's Files are no
// longer used when it returns. Close may be called more than once.
func (s *Session) Close() {
	s.ep.mu.Lock()
	delete(s.ep.sessions, s.key)
	s.ep.mu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	now := time.Now()
	for rc := range s.active {
		_ = rc.SetReadDeadline(now)
		_ = rc.SetWriteDeadline(now)
	}
	s.mu.Unlock()
	s.inflight.Wait()
	s.ep.log.Debug("push session closed", "session", s.name)
}

// Err is the first error the session's Files returned for a PUT or DELETE
// that the request did not cause itself: the pusher was told (HTTP 500),
// and the backup must fail too. A body cut short or a pusher gone is the
// pusher's to see and retry, and is not recorded here (a Files for which
// it is fatal, like a TarSink streaming that body, says so itself).
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Session) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// enter registers a request; false when the session is closed.
func (s *Session) enter(rc *http.ResponseController) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	s.active[rc] = struct{}{}
	return true
}

func (s *Session) leave(rc *http.ResponseController) {
	s.mu.Lock()
	delete(s.active, rc)
	s.mu.Unlock()
	s.inflight.Done()
}

// lookup finds the session and file a request is for.
func (e *Endpoint) lookup(path string) (*Session, string, bool) {
	rest, ok := strings.CutPrefix(path, Prefix)
	if !ok {
		return nil, "", false
	}
	token, name, ok := strings.Cut(rest, "/")
	if !ok || !fs.ValidPath(name) || name == "." {
		return nil, "", false
	}
	e.mu.Lock()
	s, ok := e.sessions[sha256.Sum256([]byte(token))]
	e.mu.Unlock()
	return s, name, ok
}

// ServeHTTP serves one file request of an open session.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, name, ok := e.lookup(r.URL.Path)
	if !ok {
		// Not even the method is checked first: a stranger learns nothing.
		e.log.Debug("push request for no session", "method", r.Method, "remote", r.RemoteAddr)
		http.NotFound(w, r)
		return
	}
	rc := http.NewResponseController(w)
	if !s.enter(rc) {
		http.NotFound(w, r)
		return
	}
	defer s.leave(rc)
	start := time.Now()
	status, n := s.serve(w, r, rc, name)
	e.log.Debug("push request", "session", s.name, "method", r.Method, "file", name,
		"status", status, "bytes", n, "duration", time.Since(start).Round(time.Millisecond))
}

// serve handles one request and returns its status and the bytes moved.
func (s *Session) serve(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, name string) (int, int64) {
	switch r.Method {
	case http.MethodPut:
		body := &deadlineReader{r: r.Body, rc: rc}
		body.extend()
		err := s.files.Put(r.Context(), name, body, r.ContentLength)
		if err != nil {
			return s.failed(w, r, name, err), body.n
		}
		w.WriteHeader(http.StatusCreated)
		return http.StatusCreated, body.n
	case http.MethodGet, http.MethodHead:
		f, err := s.files.Open(name)
		if err != nil {
			return s.failed(w, r, name, err), 0
		}
		defer f.Close()
		dw := &deadlineWriter{ResponseWriter: w, rc: rc}
		dw.extend()
		dw.Header().Set("Content-Type", "application/octet-stream")
		if st, ok := f.(Streamer); ok {
			return serveStream(dw, r, st)
		}
		// ServeContent answers Range (206 with Content-Range), If-Range and
		// HEAD, and sets Accept-Ranges: bytes, which CockroachDB needs to
		// resume a read that broke off.
		http.ServeContent(dw, r, "", f.ModTime(), f)
		return dw.status(), dw.n
	case http.MethodDelete:
		if err := s.files.Delete(name); err != nil {
			return s.failed(w, r, name, err), 0
		}
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent, 0
	default:
		w.Header().Set("Allow", "PUT, GET, HEAD, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return http.StatusMethodNotAllowed, 0
	}
}

// Streamer is a File that can only be read once, front to back (a restore
// stream handed to a volume's writer pod): it is served whole, without
// Range, size or seeking.
type Streamer interface {
	Stream(w io.Writer) (int64, error)
}

func serveStream(dw *deadlineWriter, r *http.Request, st Streamer) (int, int64) {
	dw.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return http.StatusOK, 0
	}
	// A failure mid-stream cannot change the status any more: abort the
	// connection so the reader sees a torn body, never a short valid one.
	if _, err := st.Stream(dw); err != nil {
		panic(http.ErrAbortHandler)
	}
	return dw.status(), dw.n
}

// failed answers a request whose Files call failed. The message is short
// and generic: the pusher quotes it in its own errors and logs.
func (s *Session) failed(w http.ResponseWriter, r *http.Request, name string, err error) int {
	var status int
	var msg string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		http.NotFound(w, r)
		return http.StatusNotFound
	case errors.Is(err, ErrReadOnly):
		status, msg = http.StatusMethodNotAllowed, "this push session is read-only"
		w.Header().Set("Allow", "GET, HEAD")
	case errors.Is(err, ErrGone):
		status, msg = http.StatusGone, "the file was streamed into the backup and is not kept for reading"
	case errors.As(err, new(*bodyError)) || r.Context().Err() != nil:
		status, msg = http.StatusBadRequest, "the request body could not be read"
		s.ep.log.Info("push request broke off", "session", s.name, "method", r.Method, "file", name, "error", err)
	default:
		status, msg = http.StatusInternalServerError, "the runner could not store the file"
		if r.Method == http.MethodPut || r.Method == http.MethodDelete {
			s.fail(fmt.Errorf("%s %s: %w", r.Method, name, err))
		}
		s.ep.log.Warn("push request failed", "session", s.name, "method", r.Method, "file", name, "error", err)
	}
	http.Error(w, msg, status)
	return status
}

// deadlineReader reads a request body, pushing the connection's read
// deadline idleTimeout ahead while bytes arrive.
type deadlineReader struct {
	r        io.Reader
	rc       *http.ResponseController
	n        int64
	extended time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.n += int64(n)
	if n > 0 && time.Since(d.extended) > time.Second {
		d.extend()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = &bodyError{err: err}
	}
	return n, err
}

// bodyError is a failure to read a request's body: the pusher's doing.
type bodyError struct{ err error }

func (b *bodyError) Error() string { return "reading the request body: " + b.err.Error() }
func (b *bodyError) Unwrap() error { return b.err }

func (d *deadlineReader) extend() {
	d.extended = time.Now()
	_ = d.rc.SetReadDeadline(d.extended.Add(idleTimeout))
}

// deadlineWriter pushes the connection's write deadline idleTimeout ahead
// while bytes leave, and notes the status and the bytes written.
type deadlineWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	code     int
	n        int64
	extended time.Time
}

func (d *deadlineWriter) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = http.StatusOK
	}
	if time.Since(d.extended) > time.Second {
		d.extend()
	}
	n, err := d.ResponseWriter.Write(p)
	d.n += int64(n)
	return n, err
}

func (d *deadlineWriter) extend() {
	d.extended = time.Now()
	_ = d.rc.SetWriteDeadline(d.extended.Add(idleTimeout))
}

func (d *deadlineWriter) status() int {
	if d.code == 0 {
		return http.StatusOK
	}
	return d.code
}
