package testutil

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQLServer is a MariaDB (or MySQL) server the tests may create databases
// on, with the credentials of one of its users.
type MySQLServer struct {
	Host     string
	Port     int
	User     string
	Password string
}

// SharedMySQL is the machine's MariaDB on 127.0.0.1:3306 as root without a
// password. For password handling, CreateUser makes a user that has one.
func SharedMySQL(t testing.TB) MySQLServer {
	t.Helper()
	NeedsServer(t, "MariaDB")
	s := MySQLServer{Host: "127.0.0.1", Port: 3306, User: "root"}
	db, err := s.Connect("")
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = db.PingContext(ctx)
		cancel()
		_ = db.Close()
	}
	if err != nil {
		Unavailable(t, "MariaDB on 127.0.0.1:3306", err)
	}
	return s
}

// MySQLDB creates a uniquely named database on the shared server and drops
// it when the test ends.
func MySQLDB(t testing.TB) string {
	t.Helper()
	return SharedMySQL(t).CreateDB(t)
}

// MySQLExec runs sql in db on the shared server as root.
func MySQLExec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	SharedMySQL(t).Exec(t, db, sql, args...)
}

// MySQLFingerprint is Fingerprint on the shared server as root.
func MySQLFingerprint(t testing.TB, db string) string {
	t.Helper()
	return SharedMySQL(t).Fingerprint(t, db)
}

// Connect returns a pool with db as default database ("" for none) that
// accepts several statements in one Exec without arguments; the caller
// closes it. Use Open in the test goroutine.
func (s MySQLServer) Connect(db string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = s.User, s.Password, db
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	cfg.MultiStatements = true
	cfg.Timeout = 10 * time.Second
	cfg.Logger = &mysql.NopLogger{}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

// Open returns a pool on db ("" for none), closed when the test ends.
func (s MySQLServer) Open(t testing.TB, db string) *sql.DB {
	t.Helper()
	pool, err := s.Connect(db)
	if err != nil {
		t.Fatalf("mysql %s:%d/%s: %v", s.Host, s.Port, db, err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	return pool
}

// Exec runs sql in db ("" for none). Without args, sql may hold several
// statements, compound ones (CREATE TRIGGER ... BEGIN ... END) included.
func (s MySQLServer) Exec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	pool, err := s.Connect(db)
	if err != nil {
		t.Fatalf("mysql %s: %v", db, err)
	}
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := pool.ExecContext(ctx, sql, args...); err != nil {
		t.Fatalf("mysql %s as %s: %v\n%s", db, s.User, err, sql)
	}
}

// CreateDB creates a uniquely named, empty database and drops it when the
// test ends.
func (s MySQLServer) CreateDB(t testing.TB) string {
	t.Helper()
	name := UniqueName()
	s.Exec(t, "", "CREATE DATABASE "+mysqlIdent(name))
	s.DropOnCleanup(t, name)
	return name
}

// DropOnCleanup drops db, if it exists then, when the test ends.
func (s MySQLServer) DropOnCleanup(t testing.TB, db string) {
	t.Cleanup(func() {
		pool, err := s.Connect("")
		if err == nil {
			defer pool.Close()
			_, err = pool.Exec("DROP DATABASE IF EXISTS " + mysqlIdent(db))
		}
		if err != nil {
			t.Errorf("dropping database %s: %v", db, err)
		}
	})
}

// CreateUser creates a user identified by password (a HostilePassword when
// empty) at 127.0.0.1, with all privileges on the databases whose names
// start with dbPrefix, and drops it when the test ends. The returned server
// connects as that user.
func (s MySQLServer) CreateUser(t testing.TB, dbPrefix, password string) MySQLServer {
	t.Helper()
	if password == "" {
		password = HostilePassword()
	}
	u := MySQLServer{Host: s.Host, Port: s.Port, User: UniqueName(), Password: password}
	account := mysqlString(u.User) + "@'127.0.0.1'"
	s.Exec(t, "", "CREATE USER "+account+" IDENTIFIED BY "+mysqlString(password))
	t.Cleanup(func() {
		pool, err := s.Connect("")
		if err == nil {
			defer pool.Close()
			_, err = pool.Exec("DROP USER IF EXISTS " + account)
		}
		if err != nil {
			t.Errorf("dropping user %s: %v", u.User, err)
		}
	})
	s.Exec(t, "", "GRANT ALL PRIVILEGES ON "+mysqlIdent(dbPrefix+"%")+".* TO "+account)
	return u
}

func mysqlIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// mysqlString is a string literal under the default sql_mode (backslash escapes on).
func mysqlString(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// mysqlFingerprintSQL lists, one line each, the schema objects of the
// database given as the only argument.
var mysqlFingerprintSQL = []string{
	`SELECT 'table', TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, AUTO_INCREMENT, TABLE_COMMENT
	 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`,
	`SELECT 'column', TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
	   EXTRA, COLLATION_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?`,
	`SELECT 'index', TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE
	 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?`,
	`SELECT 'foreign key', TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME, UPDATE_RULE, DELETE_RULE
	 FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
	`SELECT 'check', TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
	 FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
	`SELECT 'view', TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?`,
	`SELECT 'routine', ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC, SQL_DATA_ACCESS
	 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?`,
	`SELECT 'parameter', SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER
	 FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ?`,
	`SELECT 'trigger', TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT
	 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?`,
	`SELECT 'event', EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, STATUS
	 FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?`,
}

// Fingerprint describes db's schema objects and a checksum and count of the
// rows of every table and sequence, one line each, sorted. The database's
// own name is replaced, so two databases holding the same things have the
// same fingerprint.
func (s MySQLServer) Fingerprint(t testing.TB, db string) string {
	t.Helper()
	pool, err := s.Connect(db)
	if err != nil {
		t.Fatalf("fingerprint of %s: %v", db, err)
	}
	defer pool.Close()
	var lines []string
	for _, q := range mysqlFingerprintSQL {
		lines = append(lines, mysqlLines(t, pool, q, db)...)
	}
	tables := mysqlLines(t, pool, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE')`, db)
	for _, table := range tables {
		lines = append(lines, "rows "+table+" "+mysqlRowsSum(t, pool, table))
	}
	sort.Strings(lines)
	return strings.ReplaceAll(strings.Join(lines, "\n"), mysqlIdent(db), "`<db>`")
}

// mysqlLines runs query and returns each row's columns joined by " | ".
func mysqlLines(t testing.TB, pool *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := pool.Query(query, args...)
	if err != nil {
		t.Fatalf("fingerprint query: %v\n%s", err, query)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("fingerprint query: %v", err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = "NULL"
			if v.Valid {
				parts[i] = v.String
			}
		}
		out = append(out, strings.Join(parts, " | "))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("fingerprint query: %v", err)
	}
	return out
}

// mysqlRowsSum is "<count> <sha256>" over the sorted hashes of table's rows.
func mysqlRowsSum(t testing.TB, pool *sql.DB, table string) string {
	t.Helper()
	rows, err := pool.Query("SELECT * FROM " + mysqlIdent(table))
	if err != nil {
		t.Fatalf("fingerprint rows of %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var hashes []string
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("fingerprint rows of %s: %v", table, err)
		}
		h := sha256.New()
		for _, v := range vals {
			var n [9]byte
			if v == nil {
				n[0] = 1 // NULL differs from every value, the empty one included
			}
			binary.BigEndian.PutUint64(n[1:], uint64(len(v)))
			h.Write(n[:])
			h.Write(v)
		}
		hashes = append(hashes, hex.EncodeToString(h.Sum(nil)))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("fingerprint rows of %s: %v", table, err)
	}
	sort.Strings(hashes)
	sum := sha256.Sum256([]byte(strings.Join(hashes, ",")))
	return fmt.Sprintf("%d %x", len(hashes), sum)
}
