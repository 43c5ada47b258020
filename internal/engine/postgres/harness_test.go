package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/postgres"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// fixtureSQL fills a database with what the conformance suite asks for.
// Table data is dumped in schema, then name order: a_large comes early and
// several tables follow it.
const fixtureSQL = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE a_large (id int PRIMARY KEY, payload bytea NOT NULL);
INSERT INTO a_large SELECT 1, convert_to(string_agg(md5(i::text), '' ORDER BY i), 'UTF8')
  FROM generate_series(1, 131072) i;
CREATE TABLE bytes (id int PRIMARY KEY, b bytea);
INSERT INTO bytes SELECT 1, decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex')
  FROM generate_series(0, 255) i;
INSERT INTO bytes VALUES (2, '\x00'::bytea), (3, ''::bytea), (4, NULL);
CREATE TABLE empty_t (id int, note text);
CREATE TABLE texts (id serial PRIMARY KEY, body text, feeling mood,
  created timestamptz DEFAULT '2026-01-02 03:04:05+00', amount numeric(12,4), doc jsonb);
INSERT INTO texts (body, feeling, amount, doc) VALUES
  ('Grüße aus Köln — 世界 🎉 עברית', 'happy', 12.3456, '{"k": "v ü"}'),
  (E'quote '' double " backslash \\ tab \t newline \n cr \r end', 'sad', -1, '[1, 2]'),
  ('', 'ok', 0, 'null'),
  (NULL, NULL, NULL, NULL);
CREATE SCHEMA extra;
CREATE TABLE extra.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  text_id int REFERENCES public.texts (id), label text CHECK (label <> 'forbidden'));
INSERT INTO extra.items (text_id, label) SELECT 1, 'item ' || i FROM generate_series(1, 50) i;
CREATE INDEX items_label ON extra.items (label);
CREATE TABLE z_tail (id int PRIMARY KEY, v text);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql
  AS $$BEGIN NEW.v := coalesce(NEW.v, 'touched'); RETURN NEW; END$$;
CREATE TRIGGER z_tail_touch BEFORE INSERT ON z_tail FOR EACH ROW EXECUTE FUNCTION touch();
INSERT INTO z_tail SELECT i, CASE WHEN i % 2 = 0 THEN repeat('z', i) END FROM generate_series(1, 100) i;
CREATE VIEW v_texts AS SELECT id, upper(body) AS loud FROM texts WHERE body IS NOT NULL;
CREATE FUNCTION add_one(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';
CREATE SEQUENCE counter;
SELECT setval('counter', 42);
COMMENT ON TABLE texts IS 'texts of all kinds';
`

const mutateSQL = `
UPDATE texts SET body = 'mutated' WHERE id = 1;
DELETE FROM z_tail WHERE id > 50;
SELECT setval('counter', 1000);
SELECT nextval('texts_id_seq');
`

// harness runs the suite against the shared server (trust auth) and a
// private cluster that checks passwords.
type harness struct {
	shared, private testutil.PGServer
}

func newHarness(t *testing.T) *harness {
	return &harness{shared: testutil.SharedPostgres(t), private: testutil.PrivatePostgres(t)}
}

func (h *harness) Engine() engine.Engine     { return postgres.New() }
func (h *harness) Tools() []string           { return []string{"pg_dump", "pg_restore"} }
func (h *harness) Traits() enginetest.Traits { return enginetest.Traits{} }

func pgTarget(s testutil.PGServer, name, db, password string) engine.Target {
	t := engine.Target{
		Spec: v1alpha1.Target{Name: name, Postgres: &v1alpha1.PostgresTarget{
			Host: s.Host, Port: s.Port, Database: db, User: s.User, SSLMode: "disable",
		}},
		Namespace: "enginetest",
	}
	if password != "" {
		t.Spec.Postgres.PasswordSecretRef = &v1alpha1.SecretKeySelector{Name: "pg", Key: "password"}
		t.Secrets = engine.Secrets{"pg": {"password": []byte(password)}}
	}
	return t
}

func (h *harness) NewTarget(t *testing.T) engine.Target {
	db := h.shared.CreateDB(t)
	h.shared.Exec(t, db, fixtureSQL)
	return pgTarget(h.shared, "pg-main", db, "")
}

func (h *harness) PasswordTarget(t *testing.T) engine.Target {
	db := h.private.CreateDB(t)
	h.private.Exec(t, db, fixtureSQL)
	return pgTarget(h.private, "pg-secret", db, h.private.Password)
}

func (h *harness) BadCredentials(t *testing.T) engine.Target {
	return pgTarget(h.private, "pg-badpass", "postgres", testutil.HostilePassword())
}

func (h *harness) Unreachable(t *testing.T) engine.Target {
	s := testutil.PGServer{Host: "127.0.0.1", Port: testutil.ClosedPort(t), User: "postgres"}
	return pgTarget(s, "pg-nowhere", "postgres", "")
}

// server is the server a target points at, with superuser credentials;
// ok is false for the unreachable one.
func (h *harness) server(target engine.Target) (s testutil.PGServer, ok bool) {
	switch target.Spec.Postgres.Port {
	case h.shared.Port:
		return h.shared, true
	case h.private.Port:
		return h.private, true
	}
	return testutil.PGServer{}, false
}

func (h *harness) NewDestination(t *testing.T, target engine.Target, create bool) engine.RestoreOptions {
	s, ok := h.server(target)
	switch {
	case !ok:
		return engine.RestoreOptions{IntoDatabase: testutil.UniqueName()}
	case create:
		return engine.RestoreOptions{IntoDatabase: s.CreateDB(t)}
	}
	name := testutil.UniqueName()
	s.DropOnCleanup(t, name)
	return engine.RestoreOptions{IntoDatabase: name}
}

func (h *harness) Fingerprint(t *testing.T, target engine.Target, dest engine.RestoreOptions) string {
	s, _ := h.server(target)
	db := dest.IntoDatabase
	if db == "" {
		db = target.Spec.Postgres.Database
	}
	return s.Fingerprint(t, db)
}

func (h *harness) Mutate(t *testing.T, target engine.Target, dest engine.RestoreOptions) {
	s, _ := h.server(target)
	s.Exec(t, dest.IntoDatabase, mutateSQL)
}

// BreakMidStream terminates the server process of pg_dump's connection.
func (h *harness) BreakMidStream(ctx context.Context, target engine.Target) error {
	s, _ := h.server(target)
	conn, err := s.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND application_name = 'pg_dump'`, target.Spec.Postgres.Database).Scan(&n)
		if err != nil || n > 0 {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no pg_dump connection to %s appeared", target.Spec.Postgres.Database)
}
