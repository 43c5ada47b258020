package cockroach

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/testutil"
)

const sessionURL = "http://runner-shop-main.coffer-system.svc:8080/v1/push/Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5/"

func TestBackupStatement(t *testing.T) {
	tests := map[string]struct{ db, url, want string }{
		"plain": {"shop", sessionURL,
			`BACKUP DATABASE "shop" INTO '` + sessionURL + `' AS OF SYSTEM TIME '-10s'`},
		"case and keyword":    {"Select", "http://h:1/", `BACKUP DATABASE "Select" INTO 'http://h:1/' AS OF SYSTEM TIME '-10s'`},
		"double quote":        {`my"db`, "http://h:1/", `BACKUP DATABASE "my""db" INTO 'http://h:1/' AS OF SYSTEM TIME '-10s'`},
		"single quote in URL": {"db", "http://h:1/a'b/", `BACKUP DATABASE "db" INTO 'http://h:1/a''b/' AS OF SYSTEM TIME '-10s'`},
		"backslash":           {`a\b`, `http://h:1/\`, `BACKUP DATABASE "a\b" INTO 'http://h:1/\' AS OF SYSTEM TIME '-10s'`},
		"unicode":             {"größe 🎉", "http://h:1/", `BACKUP DATABASE "größe 🎉" INTO 'http://h:1/' AS OF SYSTEM TIME '-10s'`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := backupStatement(tc.db, tc.url)
			if err != nil || got != tc.want {
				t.Errorf("backupStatement(%q, %q) = %s, %v\nwant %s", tc.db, tc.url, got, err, tc.want)
			}
		})
	}
	if _, err := backupStatement("a\x00b", sessionURL); !errors.Is(err, errNUL) {
		t.Errorf("NUL in the name: error = %v", err)
	}
}

func TestRestoreStatement(t *testing.T) {
	tests := map[string]struct{ db, url, into, want string }{
		"same name": {"shop", sessionURL, "shop",
			`RESTORE DATABASE "shop" FROM LATEST IN '` + sessionURL + `'`},
		"new name": {"shop", "http://h:1/", "shop_copy",
			`RESTORE DATABASE "shop" FROM LATEST IN 'http://h:1/' WITH new_db_name = 'shop_copy'`},
		"quotes": {`a"b`, "http://h:1/", `it's`,
			`RESTORE DATABASE "a""b" FROM LATEST IN 'http://h:1/' WITH new_db_name = 'it''s'`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := restoreStatement(tc.db, tc.url, tc.into)
			if err != nil || got != tc.want {
				t.Errorf("restoreStatement = %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
	if _, err := restoreStatement("a", sessionURL, "b\x00"); !errors.Is(err, errNUL) {
		t.Errorf("NUL in the new name: error = %v", err)
	}
	if got, _ := dropStatement(`x"y`); got != `DROP DATABASE IF EXISTS "x""y" CASCADE` {
		t.Errorf("dropStatement = %s", got)
	}
}

// TestQuotingAgainstAServer: the server reads back exactly the name and the
// string that were quoted. PostgreSQL's lexer treats quoted identifiers and
// standard string constants as CockroachDB's does.
func TestQuotingAgainstAServer(t *testing.T) {
	pg := testutil.SharedPostgres(t)
	conn := pg.Conn(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, s := range []string{"shop", "Select", `my"db`, `it's`, `a\b`, `\'`, "größe 🎉", "two  spaces", sessionURL, `'; DROP DATABASE x; --`} {
		var lit string
		if err := conn.QueryRow(ctx, "SELECT "+quoteLiteral(s)).Scan(&lit); err != nil || lit != s {
			t.Errorf("literal %s reads back as %q (%v), want %q", quoteLiteral(s), lit, err, s)
		}
		if len(s) > 63 {
			continue // longer than PostgreSQL's identifiers (CockroachDB has no such limit)
		}
		rows, err := conn.Query(ctx, "SELECT 1 AS "+quoteIdent(s))
		if err != nil {
			t.Errorf("identifier %s: %v", quoteIdent(s), err)
			continue
		}
		name := rows.FieldDescriptions()[0].Name
		rows.Close()
		if name != s {
			t.Errorf("identifier %s reads back as %q, want %q", quoteIdent(s), name, s)
		}
	}
}

func TestListenAddress(t *testing.T) {
	tests := map[string]struct {
		url, base, addr string
		wantErr         string
	}{
		"IP and port":  {url: "http://10.0.0.5:8080", base: "http://10.0.0.5:8080", addr: "10.0.0.5:8080"},
		"loopback":     {url: "http://127.0.0.1:9000/", base: "http://127.0.0.1:9000", addr: "127.0.0.1:9000"},
		"IPv6":         {url: "http://[::1]:9000", base: "http://[::1]:9000", addr: "[::1]:9000"},
		"service name": {url: "http://runner-shop-main.coffer-system.svc:8080", base: "http://runner-shop-main.coffer-system.svc:8080", addr: ":8080"},
		"no port":      {url: "http://backup-host", base: "http://backup-host", addr: ":80"},
		"missing":      {url: "", wantErr: "endpointURL is required"},
		"https":        {url: "https://10.0.0.5:8443", wantErr: "plain http"},
		"other scheme": {url: "ftp://10.0.0.5", wantErr: "want http://"},
		"no scheme":    {url: "10.0.0.5:8080", wantErr: "want http://"},
		"path":         {url: "http://10.0.0.5:8080/backups", wantErr: "only scheme, host and port"},
		"credentials":  {url: "http://u:p@10.0.0.5:8080", wantErr: "only scheme, host and port"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := listenAddress(tc.url)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("listenAddress(%q) error = %v, want %q", tc.url, err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("listenAddress(%q): %v", tc.url, err)
			case got.base != tc.base || got.addr != tc.addr:
				t.Errorf("listenAddress(%q) = %+v, want base %s addr %s", tc.url, got, tc.base, tc.addr)
			}
		})
	}
}
