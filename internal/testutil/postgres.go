package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGServer is a PostgreSQL server the tests may create databases on, with
// superuser credentials.
type PGServer struct {
	Host     string
	Port     int
	User     string
	Password string
}

// SharedPostgres is the machine's PostgreSQL on 127.0.0.1:5432 (user
// postgres, trust auth). Trust auth accepts any password: tests of password
// handling use PrivatePostgres.
func SharedPostgres(t testing.TB) PGServer {
	t.Helper()
	NeedsServer(t, "PostgreSQL")
	s := PGServer{Host: "127.0.0.1", Port: 5432, User: "postgres"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := s.Connect(ctx, "postgres")
	if err != nil {
		Unavailable(t, "PostgreSQL on 127.0.0.1:5432", err)
	}
	_ = conn.Close(ctx)
	return s
}

// PostgresDB creates a uniquely named database on the shared server and
// drops it when the test ends.
func PostgresDB(t testing.TB) string {
	t.Helper()
	return SharedPostgres(t).CreateDB(t)
}

// PGExec runs sql in db on the shared server.
func PGExec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	SharedPostgres(t).Exec(t, db, sql, args...)
}

// PGFingerprint is Fingerprint on the shared server.
func PGFingerprint(t testing.TB, db string) string {
	t.Helper()
	return SharedPostgres(t).Fingerprint(t, db)
}

// Connect connects to db as the server's user; the caller closes the
// connection. Use Conn in the test goroutine.
func (s PGServer) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		s.Host, s.Port, s.User, db))
	if err != nil {
		return nil, err
	}
	cfg.Password = s.Password
	return pgx.ConnectConfig(ctx, cfg)
}

// Conn connects to db as the superuser; the connection is closed when the
// test ends.
func (s PGServer) Conn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := s.Connect(ctx, db)
	if err != nil {
		t.Fatalf("connecting to postgres %s:%d/%s: %v", s.Host, s.Port, db, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// CreateDB creates a uniquely named, empty database and drops it when the
// test ends.
func (s PGServer) CreateDB(t testing.TB) string {
	t.Helper()
	name := UniqueName()
	s.Exec(t, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	s.DropOnCleanup(t, name)
	return name
}

// DropOnCleanup drops db, if it exists then, when the test ends.
func (s PGServer) DropOnCleanup(t testing.TB, db string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := s.Connect(ctx, "postgres")
		if err != nil {
			t.Errorf("dropping database %s: %v", db, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", db, err)
		}
	})
}

// Exec runs sql (one or more statements when args is empty) in db.
func (s PGServer) Exec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := s.Connect(ctx, db)
	if err != nil {
		t.Fatalf("connecting to postgres %s:%d/%s: %v", s.Host, s.Port, db, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("postgres %s: %v\n%s", db, err, sql)
	}
}

// UniqueName is a fresh name for a test database: lower case, short enough
// for every engine's identifier limit.
func UniqueName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "coffer_t_" + hex.EncodeToString(b)
}

// HostilePassword is a random password made of the characters that break
// naive quoting in connection strings, password files and option files.
func HostilePassword() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "Cf" + hex.EncodeToString(b[:6]) + ` :\"#'=; $` + hex.EncodeToString(b[6:])
}

// PrivatePostgres starts a PostgreSQL cluster of its own that demands
// scram-sha-256 passwords on 127.0.0.1, and stops it when the test ends. The
// superuser's password is a HostilePassword. Running as root, the cluster
// runs as the postgres OS user, since PostgreSQL refuses to run as root.
func PrivatePostgres(t testing.TB) PGServer {
	t.Helper()
	NeedsServer(t, "PostgreSQL")
	bin, err := postgresBinDir()
	if err != nil {
		Unavailable(t, "PostgreSQL server binaries (initdb, pg_ctl)", err)
	}
	c, err := newPrivateCluster(t, bin)
	if err != nil {
		Unavailable(t, "a private PostgreSQL cluster", err)
	}
	return c.server
}

// postgresBinDir is the newest /usr/lib/postgresql/<version>/bin, or the
// directory of initdb in PATH.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) < pgVersion(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("no /usr/lib/postgresql/*/bin and no initdb in PATH: %w", err)
	}
	return filepath.Dir(initdb), nil
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

type privateCluster struct {
	bin, base string
	owner     *user.User // nil when not running as root
	server    PGServer
}

func newPrivateCluster(t testing.TB, bin string) (*privateCluster, error) {
	c := &privateCluster{bin: bin, server: PGServer{Host: "127.0.0.1", User: "coffer", Password: HostilePassword()}}
	var err error
	if os.Geteuid() == 0 {
		if c.owner, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root needs the postgres OS user: %w", err)
		}
	}
	if c.base, err = os.MkdirTemp("", "coffer-pg-"); err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = os.RemoveAll(c.base) })
	if err := c.initdb(); err != nil {
		return nil, err
	}
	if c.server.Port, err = FreePort(); err != nil {
		return nil, err
	}
	if err := c.start(t); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *privateCluster) initdb() error {
	if err := c.chown(c.base); err != nil {
		return err
	}
	pwfile := filepath.Join(c.base, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.server.Password+"\n"), 0o600); err != nil {
		return err
	}
	if err := c.chown(pwfile); err != nil {
		return err
	}
	return c.run("initdb", "-D", filepath.Join(c.base, "data"), "--username="+c.server.User,
		"--auth=scram-sha-256", "--pwfile="+pwfile, "--encoding=UTF8", "--no-locale",
		"--no-sync", "--no-instructions")
}

func (c *privateCluster) start(t testing.TB) error {
	data := filepath.Join(c.base, "data")
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=30",
		c.server.Port, c.base)
	if err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(c.base, "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.base, "log"))
		return fmt.Errorf("%w\n%s", err, log)
	}
	t.Cleanup(func() {
		if err := c.run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
			t.Errorf("stopping private PostgreSQL: %v", err)
		}
	})
	return nil
}

// run runs a server binary, as the postgres OS user when running as root.
func (c *privateCluster) run(name string, args ...string) error {
	argv := append([]string{filepath.Join(c.bin, name)}, args...)
	if c.owner != nil {
		argv = append([]string{"runuser", "-u", c.owner.Username, "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.base
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	return nil
}

func (c *privateCluster) chown(path string) error {
	if c.owner == nil {
		return nil
	}
	uid, _ := strconv.Atoi(c.owner.Uid)
	gid, _ := strconv.Atoi(c.owner.Gid)
	return os.Chown(path, uid, gid)
}

// FreePort is a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ClosedPort is a port on 127.0.0.1 where connections are refused.
func ClosedPort(t testing.TB) int {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatalf("finding a closed port: %v", err)
	}
	return port
}

// pgFingerprintSQL lists, one line each, what a restore must reproduce: the
// schema objects, sequence positions, and a checksum and count of every
// table's rows (row order does not matter). Database names do not appear,
// so two databases holding the same things have the same fingerprint.
var pgFingerprintSQL = []string{
	`SELECT format('schema %I', nspname) FROM pg_namespace WHERE ` + pgUserSchema("nspname"),
	`SELECT format('column %I.%I %s %s %s %s', table_schema, table_name, column_name, data_type, is_nullable, column_default)
	 FROM information_schema.columns WHERE ` + pgUserSchema("table_schema") + ` ORDER BY table_schema, table_name, ordinal_position`,
	`SELECT format('view %I.%I %s', schemaname, viewname, definition) FROM pg_views WHERE ` + pgUserSchema("schemaname"),
	`SELECT format('matview %I.%I %s', schemaname, matviewname, definition) FROM pg_matviews WHERE ` + pgUserSchema("schemaname"),
	`SELECT 'routine ' || pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	 WHERE p.prokind IN ('f', 'p') AND ` + pgUserSchema("n.nspname"),
	`SELECT format('type %I.%I %s %s', n.nspname, t.typname, t.typtype,
	   (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid))
	 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype IN ('e', 'd', 'r') AND ` + pgUserSchema("n.nspname"),
	`SELECT format('sequence %I.%I %s %s %s', schemaname, sequencename, start_value, increment_by, last_value)
	 FROM pg_sequences WHERE ` + pgUserSchema("schemaname"),
	`SELECT 'index ' || indexdef FROM pg_indexes WHERE ` + pgUserSchema("schemaname"),
	`SELECT format('constraint %s %I %s', conrelid::regclass, conname, pg_get_constraintdef(c.oid))
	 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE ` + pgUserSchema("n.nspname"),
	`SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal`,
	`SELECT format('relation %I.%I %s owner %s acl %s comment %s', n.nspname, c.relname, c.relkind,
	   pg_get_userbyid(c.relowner), c.relacl, obj_description(c.oid, 'pg_class'))
	 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ` + pgUserSchema("n.nspname"),
}

func pgUserSchema(col string) string {
	return fmt.Sprintf(`%[1]s NOT IN ('pg_catalog', 'information_schema') AND %[1]s NOT LIKE 'pg\_%%'`, col)
}

// Fingerprint describes db's schema objects and row checksums, one line
// each, sorted: equal fingerprints mean a restore reproduced the database.
func (s PGServer) Fingerprint(t testing.TB, db string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := s.Connect(ctx, db)
	if err != nil {
		t.Fatalf("fingerprint of %s: %v", db, err)
	}
	defer conn.Close(ctx)
	var lines []string
	for _, q := range pgFingerprintSQL {
		lines = append(lines, pgStrings(t, conn, q)...)
	}
	tables := pgStrings(t, conn, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND `+pgUserSchema("n.nspname"))
	for _, table := range tables {
		var count int64
		var sum string
		err := conn.QueryRow(ctx, `SELECT count(*), coalesce(md5(string_agg(h, ',' ORDER BY h)), '')
			FROM (SELECT md5(x::text) AS h FROM ONLY `+table+` x) rows`).Scan(&count, &sum)
		if err != nil {
			t.Fatalf("fingerprint of %s, table %s: %v", db, table, err)
		}
		lines = append(lines, fmt.Sprintf("rows %s %d %s", table, count, sum))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func pgStrings(t testing.TB, conn *pgx.Conn, query string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), query)
	if err != nil {
		t.Fatalf("fingerprint query: %v\n%s", err, query)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("fingerprint query: %v\n%s", err, query)
	}
	return out
}
