package postgres_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/enginetest"
	"github.com/coffer-dev/coffer/internal/engine/postgres"
)

func TestConformance(t *testing.T) {
	enginetest.Run(t, newHarness(t))
}

// TestToolMissingNamesPackage: the error tells the user what to install,
// before anything connects.
func TestToolMissingNamesPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	target := engine.Target{Spec: v1alpha1.Target{Name: "main", Postgres: &v1alpha1.PostgresTarget{
		Host: "127.0.0.1", Port: 1, Database: "shop", User: "postgres",
	}}}
	tests := map[string]func() error{
		"backup": func() error {
			_, err := postgres.New().Backup(context.Background(), target, io.Discard)
			return err
		},
		"restore": func() error {
			return postgres.New().Restore(context.Background(), target, strings.NewReader(""), engine.RestoreOptions{})
		},
	}
	for name, run := range tests {
		t.Run(name, func(t *testing.T) {
			err := run()
			if !errors.Is(err, engine.ErrToolMissing) {
				t.Fatalf("error = %v, want ErrToolMissing", err)
			}
			for _, want := range []string{"postgresql-client", `"main"`, "127.0.0.1:1/shop"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// TestPasswordWithLineBreak: libpq's password file cannot hold it, so the
// engine says so instead of failing authentication mysteriously.
func TestPasswordWithLineBreak(t *testing.T) {
	target := engine.Target{
		Spec: v1alpha1.Target{Name: "main", Postgres: &v1alpha1.PostgresTarget{
			Host: "127.0.0.1", Port: 5432, Database: "postgres", User: "postgres",
			PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: "pg", Key: "password"},
		}},
		Secrets: engine.Secrets{"pg": {"password": []byte("line1\nline2")}},
	}
	_, err := postgres.New().Backup(context.Background(), target, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "line break") {
		t.Fatalf("error = %v, want one about the line break", err)
	}
	if strings.Contains(err.Error(), "line1") {
		t.Errorf("error leaks the password: %v", err)
	}
}
