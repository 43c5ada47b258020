// Package enginetest is the conformance suite every engine passes: round
// trips that prove a restore reproduces the database, refusal to overwrite,
// failures mid-stream (writer, killed tool, lost connection, cancellation),
// credentials that never leak into argv, environment, errors or lingering
// files, bad credentials, an unreachable server and a missing tool.
//
// An engine's test implements Harness against a real server and calls Run.
package enginetest

import (
	"context"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
)

// MinDumpSize is the least size of the dump of a NewTarget fixture, so that
// the mid-stream cases really break a dump in the middle.
const MinDumpSize = 2 << 20

// Harness connects the suite to one engine and a real server. Methods that
// take a *testing.T may fail it; databases they create are dropped when that
// test ends.
type Harness interface {
	// Engine is the engine under test.
	Engine() engine.Engine

	// Tools are the executables the engine runs (all alternatives), looked
	// up in PATH at call time; empty for an engine that uses a library.
	Tools() []string

	// NewTarget creates a fresh database with varied content and returns a
	// target for it. The content must hold: text with non-ASCII and 4-byte
	// characters, quotes, backslashes and line breaks; binary values holding
	// all 256 byte values; NULLs; one row of several MiB in the table that
	// sorts first, followed by several more tables; an empty table; a view;
	// a function or routine; a sequence or auto-increment counter moved
	// away from its start. The dump must be at least MinDumpSize.
	NewTarget(t *testing.T) engine.Target

	// PasswordTarget is NewTarget on a server that demands the password,
	// which must be in the target's Secrets. Tools must really authenticate
	// with it (no trust authentication).
	PasswordTarget(t *testing.T) engine.Target

	// BadCredentials is a target on a password-checking server whose
	// database exists but whose Secrets hold a wrong password.
	BadCredentials(t *testing.T) engine.Target

	// Unreachable is a target whose server refuses connections.
	Unreachable(t *testing.T) engine.Target

	// NewDatabase returns the name of a fresh database on target's server
	// that target's user may restore into, created empty when create is set
	// and otherwise not existing yet.
	NewDatabase(t *testing.T, target engine.Target, create bool) string

	// Fingerprint describes database db on target's server ("" for the
	// target's own database): schema objects and row checksums, equal for
	// two databases exactly when one is a faithful restore of the other.
	Fingerprint(t *testing.T, target engine.Target, db string) string

	// Mutate changes rows and counters of the fixture's objects in db, so
	// its Fingerprint differs, without adding or removing objects.
	Mutate(t *testing.T, target engine.Target, db string)

	// BreakMidStream cuts, on the server side, the connection of the dump
	// running for target (for example pg_terminate_backend, KILL). It is
	// called from the goroutine that receives the dump, while the dump is
	// blocked writing, so it reports by returning an error.
	BreakMidStream(ctx context.Context, target engine.Target) error
}
