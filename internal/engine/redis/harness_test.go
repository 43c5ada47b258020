package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// redisServerPackage is the Debian package of redis-server.
const redisServerPackage = "redis-server"

// server is a redis-server of the test's own, on a free loopback port.
type server struct {
	port     int
	password string
	dir      string
	log      *strings.Builder
}

type serverOpts struct {
	password string
	// diskless: send snapshots from a fork, straight into the connection
	// (the EOF-marker form); otherwise through a file (length-prefixed).
	diskless bool
	// rdb is a file to load at start, and to SAVE into.
	rdb string
}

// quoteConfig quotes a value for redis.conf.
func quoteConfig(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// startServer starts redis-server with its settings, the password among
// them, in a 0600 config file; it is killed when the test ends.
func startServer(t testing.TB, o serverOpts) *server {
	t.Helper()
	testutil.NeedsServer(t, "redis-server")
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testutil.Unavailable(t, "redis-server (Debian package "+redisServerPackage+")", err)
	}
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{port: port, password: o.password, dir: t.TempDir(), log: &strings.Builder{}}
	dir, file := s.dir, "dump.rdb"
	if o.rdb != "" {
		dir, file = filepath.Dir(o.rdb), filepath.Base(o.rdb)
	}
	diskless := "no"
	if o.diskless {
		diskless = "yes"
	}
	conf := fmt.Sprintf("bind 127.0.0.1\nport %d\ndir %s\ndbfilename %s\nsave \"\"\nappendonly no\n"+
		"repl-diskless-sync %s\nrepl-diskless-sync-delay 0\nlogfile \"\"\n",
		port, quoteConfig(dir), quoteConfig(file), diskless)
	if o.password != "" {
		conf += "requirepass " + quoteConfig(o.password) + "\n"
	}
	confFile := filepath.Join(s.dir, "redis.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, confFile)
	var mu sync.Mutex
	cmd.Stdout = writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return s.log.Write(p)
	})
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case <-exited:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("redis-server exited at start:\n%s", s.log.String())
		default:
		}
		cn, err := s.target("probe").dial(context.Background())
		if err == nil {
			_, err = cn.do("PING")
			cn.close()
			if err == nil {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d not ready: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (s *server) target(name string) target {
	return target{name: name, host: "127.0.0.1", port: s.port, password: s.password}
}

// conn is a connection as the server's own user, closed when the test ends.
func (s *server) conn(t testing.TB) *testConn {
	t.Helper()
	cn, err := s.target("test").dial(context.Background())
	if err != nil {
		t.Fatalf("connecting to redis on port %d: %v", s.port, err)
	}
	t.Cleanup(cn.close)
	return &testConn{t: t, cn: cn}
}

// testConn runs commands and fails the test on errors.
type testConn struct {
	t  testing.TB
	cn *conn
}

func (c *testConn) do(args ...string) reply {
	c.t.Helper()
	rep, err := c.cn.do(args...)
	if err != nil {
		c.t.Fatalf("redis %q: %v", args, err)
	}
	return rep
}

// engineTarget is the configured target for a server: the password, if
// any, in a Secret.
func engineTarget(name string, port int, password string) engine.Target {
	t := engine.Target{
		Spec:      v1alpha1.Target{Name: name, Redis: &v1alpha1.RedisTarget{Host: "127.0.0.1", Port: port}},
		Namespace: "enginetest",
	}
	if password != "" {
		t.Spec.Redis.PasswordSecretRef = &v1alpha1.SecretKeySelector{Name: "redis", Key: "password"}
		t.Secrets = engine.Secrets{"redis": {"password": []byte(password)}}
	}
	return t
}

// fill writes every kind of value there is, in several databases.
func fill(t testing.TB, s *server) {
	c := s.conn(t)
	rng := mrand.NewChaCha8([32]byte{9})
	big := make([]byte, 4<<20)
	for i := range 4 { // 16 MiB that does not compress: the snapshot outgrows socket buffers
		_, _ = rng.Read(big)
		c.do("SET", fmt.Sprintf("a_large:%d", i), string(big))
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	c.do("SET", "bytes", string(all))
	c.do("SET", "key\x00with\nodd\xffbytes", "Grüße aus Köln — 世界 🎉 quote ' \" \\ \r\n")
	c.do("SET", "empty", "")
	c.do("SET", "int", "1234567")
	c.do("INCRBYFLOAT", "float", "3.25")
	c.do("SET", "expires", "soon", "PXAT", strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10))
	c.do("HSET", "hash:small", "f1", "v1", "f2", "", "ü", string(all[:10]))
	c.do("LPUSH", "list:small", "a", "b", "c")
	c.do("SADD", "set:ints", "1", "2", "3")
	c.do("SADD", "set:strings", "x", "y", "z")
	c.do("ZADD", "zset:small", "1.5", "one", "-inf", "low", "+inf", "high", "1e-300", "tiny")
	for i := range 600 {
		n := strconv.Itoa(i)
		c.do("HSET", "hash:large", "field"+n, strings.Repeat("v", i))
		c.do("RPUSH", "list:large", strings.Repeat("x", i%70))
		c.do("SADD", "set:large", "member"+n)
		c.do("ZADD", "zset:large", strconv.Itoa(i*7%600), "m"+n)
	}
	c.do("PEXPIREAT", "hash:large", strconv.FormatInt(time.Now().Add(2*time.Hour).UnixMilli(), 10))
	c.do("PFADD", "hll", "a", "b", "c")
	c.do("GEOADD", "geo", "6.95", "50.94", "Köln")
	c.do("SETBIT", "bits", "1000", "1")
	for i := range 20 {
		c.do("XADD", "stream", fmt.Sprintf("%d-1", i+1), "n", strconv.Itoa(i), "bin", string(all[i:i+5]))
	}
	c.do("XDEL", "stream", "3-1")
	c.do("XGROUP", "CREATE", "stream", "workers", "0")
	c.do("XREADGROUP", "GROUP", "workers", "alice", "COUNT", "5", "STREAMS", "stream", ">")
	c.do("XACK", "stream", "workers", "1-1")
	c.do("XGROUP", "CREATE", "stream", "late", "$")
	c.do("FUNCTION", "LOAD", "#!lua name=cofferlib\nredis.register_function('coffer_one', function(keys, args) return 1 end)")
	for _, db := range []string{"1", "5", "15"} {
		c.do("SELECT", db)
		c.do("SET", "in-db-"+db, "value "+db)
		c.do("HSET", "h", "db", db)
	}
	c.do("SELECT", "0")
}

// mutate changes values without adding or removing keys.
func mutate(t testing.TB, s *server) {
	c := s.conn(t)
	c.do("SET", "bytes", "mutated")
	c.do("HSET", "hash:small", "f1", "changed")
	c.do("LPOP", "list:large")
	c.do("SELECT", "5")
	c.do("SET", "in-db-5", "changed")
}

// fingerprint describes every key of every database: type, expiry and a
// hash of its logical value, and the functions.
func fingerprint(t testing.TB, s *server) string {
	c := s.conn(t)
	var lines []string
	for db := range 16 {
		c.do("SELECT", strconv.Itoa(db))
		cursor := "0"
		for {
			rep := c.do("SCAN", cursor, "COUNT", "1000")
			cursor = rep.elems[0].text()
			for _, k := range rep.elems[1].elems {
				key := string(k.str)
				typ := c.do("TYPE", key).text()
				value := valueOf(c, key, typ)
				sum := sha256.Sum256([]byte(value))
				lines = append(lines, fmt.Sprintf("db%d %q %s expires=%s %s", db, key, typ,
					c.do("PEXPIRETIME", key).text(), hex.EncodeToString(sum[:8])))
			}
			if cursor == "0" {
				break
			}
		}
	}
	slices.Sort(lines)
	lines = append(lines, "functions "+c.do("FUNCTION", "LIST", "WITHCODE").text())
	return strings.Join(lines, "\n")
}

func valueOf(c *testConn, key, typ string) string {
	var rep reply
	switch typ {
	case "string":
		rep = c.do("GET", key)
	case "hash":
		rep = c.do("HGETALL", key)
		return sortedPairs(rep)
	case "list":
		rep = c.do("LRANGE", key, "0", "-1")
	case "set":
		rep = c.do("SMEMBERS", key)
		var m []string
		for _, e := range rep.elems {
			m = append(m, string(e.str))
		}
		slices.Sort(m)
		return strings.Join(m, "\x00")
	case "zset":
		rep = c.do("ZRANGE", key, "0", "-1", "WITHSCORES")
	case "stream":
		return c.do("XRANGE", key, "-", "+").text() + c.do("XINFO", "STREAM", key, "FULL").text()
	default:
		c.t.Fatalf("key %q has type %q", key, typ)
	}
	return rep.text()
}

func sortedPairs(rep reply) string {
	var pairs []string
	for i := 0; i+1 < len(rep.elems); i += 2 {
		pairs = append(pairs, string(rep.elems[i].str)+"="+string(rep.elems[i+1].str))
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "\x00")
}

// harness runs the suite against servers of its own: one without a
// password sending diskless snapshots, one with a password sending them
// through a file.
type harness struct {
	mu      sync.Mutex
	servers map[int]*server // by port
}

func newHarness() *harness { return &harness{servers: map[int]*server{}} }

func (h *harness) Engine() engine.Engine { return New() }
func (h *harness) Tools() []string       { return nil }
func (h *harness) Traits() enginetest.Traits {
	return enginetest.Traits{OfflineRestore: true, NeedsDestination: true}
}

func (h *harness) start(t testing.TB, o serverOpts) *server {
	s := startServer(t, o)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.servers[s.port] = s
	return s
}

func (h *harness) server(target engine.Target) *server {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.servers[target.Spec.Redis.Port]
}

func (h *harness) NewTarget(t *testing.T) engine.Target {
	s := h.start(t, serverOpts{diskless: true})
	fill(t, s)
	return engineTarget("redis-main", s.port, "")
}

func (h *harness) PasswordTarget(t *testing.T) engine.Target {
	s := h.start(t, serverOpts{password: testutil.HostilePassword()})
	fill(t, s)
	return engineTarget("redis-secret", s.port, s.password)
}

func (h *harness) BadCredentials(t *testing.T) engine.Target {
	s := h.start(t, serverOpts{password: testutil.HostilePassword(), diskless: true})
	return engineTarget("redis-badpass", s.port, testutil.HostilePassword())
}

func (h *harness) Unreachable(t *testing.T) engine.Target {
	return engineTarget("redis-nowhere", testutil.ClosedPort(t), "")
}

// NewDestination is a directory (Restore writes dump.rdb in it) or a file
// path below a directory that does not exist yet.
func (h *harness) NewDestination(t *testing.T, _ engine.Target, create bool) engine.RestoreOptions {
	dir := t.TempDir()
	if create {
		return engine.RestoreOptions{IntoPath: dir}
	}
	return engine.RestoreOptions{IntoPath: filepath.Join(dir, "new", "restored.rdb")}
}

// onFile starts a server that loads the restored RDB file of dest.
func onFile(t testing.TB, dest engine.RestoreOptions) *server {
	return startServer(t, serverOpts{rdb: rdbPath(dest.IntoPath)})
}

func (h *harness) Fingerprint(t *testing.T, target engine.Target, dest engine.RestoreOptions) string {
	if dest.IntoPath == "" {
		return fingerprint(t, h.server(target))
	}
	return fingerprint(t, onFile(t, dest))
}

func (h *harness) Mutate(t *testing.T, _ engine.Target, dest engine.RestoreOptions) {
	s := onFile(t, dest)
	mutate(t, s)
	s.conn(t).do("SAVE")
}

// BreakMidStream kills the replica connection the backup opened.
func (h *harness) BreakMidStream(ctx context.Context, target engine.Target) error {
	s := h.server(target)
	cn, err := s.target("admin").dial(ctx)
	if err != nil {
		return err
	}
	defer cn.close()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		rep, err := cn.do("CLIENT", "KILL", "TYPE", "replica")
		if err != nil || rep.n > 0 {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("no replica connection appeared")
}

var _ enginetest.Remote = (*harness)(nil)
