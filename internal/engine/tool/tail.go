package tool

import (
	"bytes"
	"strings"
	"sync"
)

// tail keeps the last limit bytes written to it: the end of a tool's stderr
// is where the reason for a failure is.
type tail struct {
	mu        sync.Mutex
	limit     int
	buf       []byte
	truncated bool
}

func newTail(limit int) *tail { return &tail{limit: limit} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	return len(p), nil
}

// String returns the kept text with secrets scrubbed. When the start was cut
// off, the partial first line goes too: it could hold the end of a secret.
func (t *tail) String(secrets []string) string {
	t.mu.Lock()
	b := t.buf
	if t.truncated {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		} else {
			b = nil
		}
	}
	s := string(b)
	t.mu.Unlock()
	return strings.TrimSpace(Scrub(s, secrets...))
}

// Scrub replaces every occurrence of each non-empty secret in s.
func Scrub(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}
