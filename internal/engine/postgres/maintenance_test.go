package postgres

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/testutil"
)

func sharedConn(t *testing.T) (conn, testutil.PGServer) {
	s := testutil.SharedPostgres(t)
	return conn{target: "maintenance", host: s.Host, port: s.Port, user: s.User, sslMode: "disable"}, s
}

func backendPID(t *testing.T, c conn) (pid int) {
	t.Helper()
	err := c.withMaintenance(context.Background(), func(pc *pgx.Conn) error {
		return pc.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid)
	})
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func connected(t *testing.T, s testutil.PGServer, pid int) bool {
	t.Helper()
	var n int
	err := s.Conn(t, "postgres").QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestMaintenanceConnectionKeptAMoment: calls in quick succession share one
// connection; one whose function failed is not kept; one the server ended
// is replaced without an error; an idle one is closed.
func TestMaintenanceConnectionKeptAMoment(t *testing.T) {
	c, s := sharedConn(t)
	first := backendPID(t, c)
	if again := backendPID(t, c); again != first {
		t.Fatalf("second call used backend %d, the first %d: the connection was not kept", again, first)
	}

	failed := errors.New("a statement failed")
	if err := c.withMaintenance(context.Background(), func(*pgx.Conn) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("withMaintenance returned %v, want the function's error", err)
	}
	afterFailure := backendPID(t, c)
	if afterFailure == first {
		t.Fatal("the connection of a failed call was kept")
	}

	var ok bool
	if err := s.Conn(t, "postgres").QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", afterFailure).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating backend %d: %v %v", afterFailure, ok, err)
	}
	replaced := backendPID(t, c)
	if replaced == afterFailure {
		t.Fatal("a connection the server ended was used again")
	}

	deadline := time.Now().Add(maintenanceIdle + 5*time.Second)
	for connected(t, s, replaced) {
		if time.Now().After(deadline) {
			t.Fatalf("backend %d still connected %s after its last use", replaced, maintenanceIdle+5*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWaitUnused: the wait ends once the last other session of the
// database has left, and after unusedWait when one stays.
func TestWaitUnused(t *testing.T) {
	c, s := sharedConn(t)
	db := s.CreateDB(t)
	ctx := context.Background()
	wait := func() time.Duration {
		start := time.Now()
		if err := c.withMaintenance(ctx, func(pc *pgx.Conn) error { return waitUnused(ctx, pc, db) }); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	stays, err := c.connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if took := wait(); took < unusedWait {
		t.Errorf("waited %s with a session connected, want at least %s", took, unusedWait)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = stays.Close(ctx)
	}()
	if took := wait(); took >= unusedWait {
		t.Errorf("waited %s although the session left after 200ms", took)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	other, err := c.connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	err = c.withMaintenance(ctx, func(pc *pgx.Conn) error { return waitUnused(cctx, pc, db) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait returned %v", err)
	}
}

// writeTool replaces path with a shell script (a new file renamed into
// place: one being run cannot be written).
func writeTool(t *testing.T, path, script string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestProbeMajor: a tool's version is asked once per path; a failed
// answer is not kept.
func TestProbeMajor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tool := filepath.Join(dir, "pg_restore")
	writeTool(t, tool, `echo "pg_restore (PostgreSQL) 17.6 (Debian 17.6-1)"`)
	if major, err := probeMajor(tool)(ctx); err != nil || major != 17 {
		t.Fatalf("probeMajor = %d, %v; want 17", major, err)
	}
	writeTool(t, tool, `echo "pg_restore (PostgreSQL) 15.19"`)
	if major, err := probeMajor(tool)(ctx); err != nil || major != 17 {
		t.Fatalf("second probeMajor = %d, %v; want the first answer, 17", major, err)
	}

	broken := filepath.Join(dir, "broken", "pg_restore")
	if err := os.MkdirAll(filepath.Dir(broken), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTool(t, broken, `exit 3`)
	if _, err := probeMajor(broken)(ctx); err == nil {
		t.Fatal("a tool that fails --version gave no error")
	}
	writeTool(t, broken, `echo "pg_restore (PostgreSQL) 9.6.24"`)
	if major, err := probeMajor(broken)(ctx); err != nil || major != 9 {
		t.Fatalf("after the failure, probeMajor = %d, %v; want 9 (the failure forgotten)", major, err)
	}
	writeTool(t, broken, `echo "no version here"`)
	toolMajors.Delete(broken)
	if major, err := probeMajor(broken)(ctx); err != nil || major != 0 {
		t.Fatalf("unparsable version: %d, %v; want 0, nil", major, err)
	}

	slow := filepath.Join(dir, "slow")
	writeTool(t, slow, `sleep 5`)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := probeMajor(slow)(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting past the context returned %v", err)
	}
}

// TestMaintenanceConcurrentUse: restores running at once in one process
// (a daemon's) share the kept connection one at a time and open their own
// meanwhile; every answer is right, and one connection is kept after
// (under -race, the pool's own state is checked too).
func TestMaintenanceConcurrentUse(t *testing.T) {
	c, s := sharedConn(t)
	ctx := context.Background()
	exists := s.CreateDB(t)
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				var got bool
				err := c.withMaintenance(ctx, func(pc *pgx.Conn) error {
					return pc.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", exists).Scan(&got)
				})
				if err == nil && !got {
					err = errors.New("an existing database was not found")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	maintenance.mu.Lock()
	kept := maintenance.idle[c.endpoint()] != nil
	maintenance.mu.Unlock()
	if !kept {
		t.Fatal("no connection kept after the last use")
	}
}
