package cockroach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// session is a push session on the engine's endpoint, or on an endpoint
// served for this session alone.
type session struct {
	*pushendpoint.Session
	url string
	// token is the secret part of url, scrubbed from errors.
	token    string
	shutdown func()
}

// close ends the session, and the endpoint's server if it has its own.
// CockroachDB has finished with the session when BACKUP or RESTORE returns.
func (s *session) close() {
	s.Close()
	if s.shutdown != nil {
		s.shutdown()
		s.shutdown = nil
	}
}

// openSession opens a session serving files, on e.Push or on an endpoint of
// its own at listen.
func (e *Engine) openSession(ctx context.Context, listen standalone, name string, files pushendpoint.Files) (*session, error) {
	ep := e.Push
	var shutdown func()
	if ep == nil {
		var err error
		if ep, shutdown, err = listen.serve(ctx, e.log()); err != nil {
			return nil, err
		}
	}
	s, u := ep.Open(name, files)
	token := strings.TrimSuffix(u[strings.LastIndex(u, pushendpoint.Prefix)+len(pushendpoint.Prefix):], "/")
	return &session{Session: s, url: u, token: token, shutdown: shutdown}, nil
}

// standalone is where an engine without Push serves its own endpoint.
type standalone struct {
	// base is the URL CockroachDB reaches the endpoint at.
	base string
	// addr is the address to listen on.
	addr string
}

// errNoEndpointURL: without the runner's endpoint, the target must say
// where CockroachDB reaches the runner.
var errNoEndpointURL = errors.New("endpointURL is required: the address at which CockroachDB's nodes reach this runner " +
	"(e.g. http://10.0.0.5:8080); the backup's files are pushed there")

// listenAddress derives the standalone endpoint from a target's
// endpointURL: the URL's port (80 when absent); the URL's host when it is
// an IP address, all interfaces when it is a name, which need not resolve
// to a local address (a Kubernetes Service, a load balancer).
func listenAddress(endpointURL string) (standalone, error) {
	if endpointURL == "" {
		return standalone{}, errNoEndpointURL
	}
	if !strings.Contains(endpointURL, "://") {
		return standalone{}, fmt.Errorf("endpointURL %q: want http://<host>:<port>", endpointURL)
	}
	u, err := url.Parse(endpointURL)
	if err != nil {
		return standalone{}, fmt.Errorf("endpointURL: %w", err)
	}
	switch {
	case u.Scheme == "https":
		return standalone{}, fmt.Errorf("endpointURL %q: the runner's own endpoint serves plain http "+
			"(https would need a certificate CockroachDB trusts)", endpointURL)
	case u.Scheme != "http":
		return standalone{}, fmt.Errorf("endpointURL %q: want http://<host>:<port>", endpointURL)
	case u.Hostname() == "":
		return standalone{}, fmt.Errorf("endpointURL %q has no host", endpointURL)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return standalone{}, fmt.Errorf("endpointURL %q: give only scheme, host and port", endpointURL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	host := ""
	if net.ParseIP(u.Hostname()) != nil {
		host = u.Hostname()
	}
	return standalone{base: "http://" + u.Host, addr: net.JoinHostPort(host, port)}, nil
}

// Limits of the standalone server; the endpoint extends its own deadlines
// while data flows.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 5 * time.Second
)

// serve listens and serves a new endpoint until shutdown is called.
func (s standalone) serve(ctx context.Context, log *slog.Logger) (*pushendpoint.Endpoint, func(), error) {
	ep, err := pushendpoint.New(s.base, log)
	if err != nil {
		return nil, nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("serving the push endpoint: %w", err)
	}
	srv := &http.Server{
		Handler:           ep,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		<-done
	}
	return ep, shutdown, nil
}
