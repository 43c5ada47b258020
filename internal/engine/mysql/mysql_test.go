package mysql_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/mysql"
	"github.com/coffer-dev/coffer/internal/testutil"
)

func TestConformance(t *testing.T) {
	enginetest.Run(t, newHarness(t))
}

// TestToolMissingNamesPackage: the error tells the user what to install,
// before anything connects.
func TestToolMissingNamesPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	target := engine.Target{Spec: v1alpha1.Target{Name: "ci", MySQL: &v1alpha1.MySQLTarget{
		Host: "127.0.0.1", Port: 1, Database: "shop", User: "root",
	}}}
	tests := map[string]func() error{
		"backup": func() error {
			_, err := mysql.New().Backup(context.Background(), target, io.Discard)
			return err
		},
		"restore": func() error {
			return mysql.New().Restore(context.Background(), target, strings.NewReader(""), engine.RestoreOptions{})
		},
	}
	for name, run := range tests {
		t.Run(name, func(t *testing.T) {
			err := run()
			if !errors.Is(err, engine.ErrToolMissing) {
				t.Fatalf("error = %v, want ErrToolMissing", err)
			}
			for _, want := range []string{"mariadb-client", `"ci"`, "127.0.0.1:1/shop"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// TestPasswordWithControlCharacters: line breaks, tabs, quotes and '#'
// survive the option file.
func TestPasswordWithControlCharacters(t *testing.T) {
	root := testutil.SharedMySQL(t)
	db := root.CreateDB(t)
	root.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
	u := root.CreateUser(t, db, " lead\ttab\nline \"dq\" 'sq' #hash \\back trail ")
	target := engine.Target{
		Spec: v1alpha1.Target{Name: "ci", MySQL: &v1alpha1.MySQLTarget{
			Host: u.Host, Port: u.Port, Database: db, User: u.User,
			PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: "db", Key: "password"},
		}},
		Secrets: engine.Secrets{"db": {"password": []byte(u.Password)}},
	}
	var dump bytes.Buffer
	if _, err := mysql.New().Backup(context.Background(), target, &dump); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	into := db + "_copy"
	root.DropOnCleanup(t, into)
	opts := engine.RestoreOptions{IntoDatabase: into}
	if err := mysql.New().Restore(context.Background(), target, &dump, opts); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got, want := root.Fingerprint(t, into), root.Fingerprint(t, db); got != want {
		t.Fatalf("restored database differs:\n%s\n---\n%s", got, want)
	}
}
