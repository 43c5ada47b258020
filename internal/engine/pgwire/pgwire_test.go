package pgwire

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestConninfoRoundTrip: whatever the names hold, pgx parses back exactly
// the values given, and the password is never in the string.
func TestConninfoRoundTrip(t *testing.T) {
	cases := map[string]Endpoint{
		"plain":           {Host: "db", Port: 5432, User: "app", Password: "pw", SSLMode: "require"},
		"quotes":          {Host: "db", Port: 5432, User: `o'brien`, Password: `p'w\`},
		"spaces and =":    {Host: "db.example", Port: 26257, User: "a b=c"},
		"backslash names": {Host: "db", Port: 1, User: `x\y`},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			db := `shop's "db" = 1`
			s := e.Conninfo(db)
			if e.Password != "" && strings.Contains(s, e.Password) {
				t.Fatalf("password in conninfo %q", s)
			}
			cfg, err := pgx.ParseConfig(s)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != e.Host || int(cfg.Port) != e.Port || cfg.User != e.User || cfg.Database != db {
				t.Fatalf("parsed %s:%d user %q db %q from %q", cfg.Host, cfg.Port, cfg.User, cfg.Database, s)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":     {"shop", `'shop'`},
		"space":     {"my db", `'my db'`},
		"quote":     {"it's", `'it\'s'`},
		"backslash": {`a\b`, `'a\\b'`},
		"equals":    {"a=b", `'a=b'`},
		"empty":     {"", `''`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Quote(tc.in); got != tc.want {
				t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
