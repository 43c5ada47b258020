package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Scratch is implemented by the database engines restore tests use: the
// runner creates a scratch database (Creating), restores a backup into it
// (RestoreOptions.IntoDatabase) while checking the backup's integrity, runs
// the user's checks in it, and drops it.
type Scratch interface {
	Creating
	// Check runs stmt in database db of t's server inside a read-only
	// transaction. It returns nil when the statement's first row has a
	// true first column, and an error wrapping ErrCheckFailed that says
	// what it returned otherwise; any other error is the server's.
	Check(ctx context.Context, t Target, db, stmt string) error
}

// ErrCheckFailed: a restore test's check did not return true.
var ErrCheckFailed = errors.New("check did not return true")

// CheckResult interprets the first column of a check's first row: true,
// or a non-zero number (MariaDB has no boolean type: TRUE is 1), passes.
// Anything else fails, naming the value.
func CheckResult(v any) error {
	switch x := v.(type) {
	case bool:
		if x {
			return nil
		}
	case int64:
		if x != 0 {
			return nil
		}
	case int32:
		if x != 0 {
			return nil
		}
	case []byte:
		return CheckResult(string(x))
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "t", "true":
			return nil
		}
	case nil:
		return fmt.Errorf("%w: it returned NULL", ErrCheckFailed)
	}
	return fmt.Errorf("%w: it returned %v", ErrCheckFailed, shorten(fmt.Sprint(v)))
}

// ErrNoRows: a check returned no row at all.
var ErrNoRows = fmt.Errorf("%w: it returned no row", ErrCheckFailed)

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// DryRunner is implemented by engines whose restore tests are a
// server-side dry run (kubernetes): every object of the backup is sent to
// the server, which checks and admits it without storing it, and the
// per-object results are counted against the backup's own index.
type DryRunner interface {
	DryRunRestore(ctx context.Context, t Target, r io.Reader) (DryRunResult, error)
}

// DryRunResult counts a dry-run restore's per-object results. The test
// passes when Read equals Indexed, Mismatches and Failed are empty, and
// Accepted plus Unchecked equals Read.
type DryRunResult struct {
	// Indexed are the objects the backup's index lists, Read those its
	// archive holds.
	Indexed, Read int
	// Accepted are the objects the server admitted (it would create or
	// update them, or found them as backed up); Unchecked those it could
	// not be asked about, because their namespace or CustomResourceDefinition
	// is created by the same restore.
	Accepted, Unchecked int
	// Failed describes each object the server refused, Mismatches each
	// resource whose object count in the archive differs from the index's.
	Failed, Mismatches []string
}
