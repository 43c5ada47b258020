package runnerapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
)

// bearer guards handlers with a static bearer token.
type bearer struct {
	// sum is the SHA-256 of the token. Comparing digests keeps the
	// comparison constant-time even in the token's length, which
	// subtle.ConstantTimeCompare alone would reveal.
	sum [sha256.Size]byte
	// empty: no token is configured, so every request is refused.
	empty bool
	log   *slog.Logger
}

func newBearer(token string, log *slog.Logger) *bearer {
	// Tokens come from Secrets, often written with a trailing newline; a
	// header value cannot carry one, so it would never match.
	token = strings.TrimSpace(token)
	if token == "" {
		log.Error("API token is empty: every /v1 request will be refused with 401")
	}
	return &bearer{sum: sha256.Sum256([]byte(token)), empty: token == "", log: log}
}

// wrap refuses requests without the token. The log line names the request
// but never the Authorization header or any part of it.
func (b *bearer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason, challenge := b.check(r.Header.Get("Authorization"))
		if reason == "" {
			next.ServeHTTP(w, r)
			return
		}
		b.log.Warn("API request refused", "method", r.Method, "path", r.URL.Path,
			"remote", r.RemoteAddr, "reason", reason)
		w.Header().Set("WWW-Authenticate", challenge)
		writeErrorAs(w, b.log, ErrUnauthorized, ErrUnauthorized.Error())
	})
}

// check returns why the header is refused (empty if accepted) and the
// WWW-Authenticate challenge to answer with (RFC 6750 §3).
func (b *bearer) check(header string) (reason, challenge string) {
	const plain = `Bearer realm="coffer-runner"`
	const invalid = `Bearer realm="coffer-runner", error="invalid_token"`
	if b.empty {
		return "no API token configured", plain
	}
	if header == "" {
		return "no credentials", plain
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "not a bearer token", plain
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(sum[:], b.sum[:]) != 1 {
		return "wrong token", invalid
	}
	return "", ""
}
