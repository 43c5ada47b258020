package runnerapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server limits. Requests are small and answered from memory or one storage
// listing, so the limits are tight; a future streaming endpoint (push
// sources) would extend its own deadlines with http.ResponseController.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// shutdownTimeout is how long in-flight requests get once ctx is done;
	// well inside Kubernetes' default 30s termination grace period.
	shutdownTimeout = 10 * time.Second
)

// Serve listens on addr and serves h until ctx is done, then shuts down
// gracefully, giving in-flight requests a few seconds. It returns nil after a
// clean shutdown and an error if it cannot listen or the server fails.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return serve(ctx, ln, h, log)
}

// ServeListener is Serve on an open listener, which it closes: tests pass
// one the kernel gave a port, so no two servers race for a "free" port.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	return serve(ctx, ln, h, log)
}

// serve is Serve on an open listener, which it closes.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Requests must outlive ctx for the graceful part of the shutdown;
		// they keep its values (the logger) but not its cancellation.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("API listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serving API on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info("API shutting down", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // the deadline passed: drop what is left
		return fmt.Errorf("shutting down API: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving API on %s: %w", ln.Addr(), err)
	}
	return nil
}
