package redis

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
)

const (
	defaultPort = 6379
	// dialTimeout bounds connecting to a host that does not answer.
	dialTimeout = 30 * time.Second
	// idleTimeout bounds a silence of the server. While it prepares the
	// snapshot it sends a newline every second.
	idleTimeout = 2 * time.Minute
)

// target is a Redis target's settings with the password resolved.
type target struct {
	name     string
	host     string
	port     int
	username string
	password string
}

func resolve(t engine.Target) (target, error) {
	spec := t.Spec.Redis
	if spec == nil {
		return target{}, fmt.Errorf("target %q has no redis block", t.Name())
	}
	password, err := t.Secrets.Value(spec.PasswordSecretRef)
	if err != nil {
		return target{}, fmt.Errorf("target %q: password: %w", t.Name(), err)
	}
	c := target{name: t.Name(), host: spec.Host, port: spec.Port, username: spec.Username, password: password}
	if c.port == 0 {
		c.port = defaultPort
	}
	return c, nil
}

func (c target) addr() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }

// where names the target for messages.
func (c target) where() string {
	return fmt.Sprintf("target %q (redis %s)", c.name, c.addr())
}

// conn is one connection to the server. Its deadline is pushed on by every
// read, so a server that goes silent fails the operation; ctx ending closes
// the connection.
type conn struct {
	nc   net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	stop func() bool
}

// dial connects and authenticates.
func (c target) dial(ctx context.Context) (*conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.addr())
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	cn := &conn{nc: nc, r: bufio.NewReaderSize(deadlineReader{nc}, 64<<10), w: bufio.NewWriter(nc)}
	cn.stop = context.AfterFunc(ctx, func() { _ = nc.Close() })
	if c.username != "" || c.password != "" {
		args := []string{"AUTH", c.password}
		if c.username != "" {
			args = []string{"AUTH", c.username, c.password}
		}
		if _, err := cn.do(args...); err != nil {
			cn.close()
			return nil, fmt.Errorf("authenticating: %w", err)
		}
	}
	return cn, nil
}

func (cn *conn) close() {
	cn.stop()
	_ = cn.nc.Close()
}

// do sends a command and reads its reply; an error reply is an error.
func (cn *conn) do(args ...string) (reply, error) {
	if err := writeCommand(cn.w, args...); err != nil {
		return reply{}, err
	}
	rep, err := readReply(cn.r)
	if err != nil {
		return reply{}, err
	}
	if rep.kind == '-' {
		return reply{}, serverError(rep.str)
	}
	return rep, nil
}

// deadlineReader extends the read deadline before every read.
type deadlineReader struct{ nc net.Conn }

func (d deadlineReader) Read(p []byte) (int, error) {
	_ = d.nc.SetReadDeadline(time.Now().Add(idleTimeout))
	return d.nc.Read(p)
}

// serverVersion is redis_version from INFO server ("" when the user may not
// run INFO).
func (cn *conn) serverVersion() (string, error) {
	rep, err := cn.do("INFO", "server")
	if _, denied := err.(serverError); denied {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("INFO server: %w", err)
	}
	for _, line := range strings.Split(string(rep.str), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "", nil
}
