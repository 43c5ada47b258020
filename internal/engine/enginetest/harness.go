// Package enginetest is the conformance suite every engine passes: round
// trips that prove a restore reproduces the data, refusal to overwrite,
// failures mid-stream (writer, killed tool, lost connection, cancellation),
// credentials that never leak into argv, environment, errors or lingering
// files, bad credentials, an unreachable server and a missing tool.
//
// An engine's test implements Harness (and Remote, for an engine that talks
// to a server) against real servers or real files, and calls Run.
package enginetest

import (
	"context"
	"testing"

	"github.com/coffer-dev/coffer/internal/engine"
)

// MinDumpSize is the least size of the dump of a NewTarget fixture, so that
// the mid-stream cases really break a dump in the middle.
const MinDumpSize = 2 << 20

// Harness connects the suite to one engine and real data. Methods that take
// a *testing.T may fail it; what they create is removed when that test ends.
//
// A destination is where a restore goes, given as the RestoreOptions that
// select it: a database (IntoDatabase) or a path (IntoPath). The zero
// RestoreOptions is the target's own data.
type Harness interface {
	// Engine is the engine under test.
	Engine() engine.Engine

	// Tools are the executables the engine runs (all alternatives), looked
	// up in PATH at call time; empty for an engine that uses a library or
	// speaks the protocol itself.
	Tools() []string

	// Traits say which cases apply to the engine.
	Traits() Traits

	// NewTarget creates fresh source data with varied content and returns a
	// target for it. For a database the content must hold: text with
	// non-ASCII and 4-byte characters, quotes, backslashes and line breaks;
	// binary values holding all 256 byte values; NULLs; one row of several
	// MiB in the table that sorts first, followed by several more tables; an
	// empty table; a view; a function or routine; a sequence or
	// auto-increment counter moved away from its start. Other engines hold
	// the equivalent variety of their kind of data. The dump must be at
	// least MinDumpSize.
	NewTarget(t *testing.T) engine.Target

	// NewDestination returns a fresh destination that target's dumps may be
	// restored into: created empty when create is set, and otherwise not
	// existing yet.
	NewDestination(t *testing.T, target engine.Target, create bool) engine.RestoreOptions

	// Fingerprint describes destination dest of target (the zero dest: the
	// target's own data): equal for two destinations exactly when one is a
	// faithful restore of the other.
	Fingerprint(t *testing.T, target engine.Target, dest engine.RestoreOptions) string

	// Mutate changes the fixture's data in dest, so its Fingerprint
	// differs, without adding or removing objects.
	Mutate(t *testing.T, target engine.Target, dest engine.RestoreOptions)
}

// Remote is implemented by the harness of every engine that reaches a server
// with credentials (all but the Local ones): the suite runs the password,
// credentials, reachability and connection cases with it.
type Remote interface {
	// PasswordTarget is NewTarget on a server that demands the password,
	// which must be in the target's Secrets. The engine must really
	// authenticate with it (no trust authentication).
	PasswordTarget(t *testing.T) engine.Target

	// BadCredentials is a target on a password-checking server whose data
	// exists but whose Secrets hold a wrong password.
	BadCredentials(t *testing.T) engine.Target

	// Unreachable is a target whose server refuses connections.
	Unreachable(t *testing.T) engine.Target

	// BreakMidStream cuts, on the server side, the connection of the dump
	// running for target (for example pg_terminate_backend, KILL, CLIENT
	// KILL). It is called from the goroutine that receives the dump, while
	// the dump is blocked writing, so it reports by returning an error. It
	// is not called when Traits.ReadsBeforeStreaming is set.
	BreakMidStream(ctx context.Context, target engine.Target) error
}

// Traits describe how an engine differs from a database engine, whose
// harness leaves them all false and gets every case.
type Traits struct {
	// Local: targets are paths on the runner's filesystem. There is no
	// server, no credentials and no connection: the harness does not
	// implement Remote, the cases that need one are skipped, and
	// Result.ServerVersion may be empty.
	Local bool

	// OfflineRestore: Restore into a NewDestination writes local files and
	// never contacts the target's server, so bad credentials and an
	// unreachable server fail Backup only.
	OfflineRestore bool

	// NeedsDestination: Restore has no default destination. Instead of a
	// restore onto the source, the suite checks that a Restore without a
	// destination fails, naming the target, and leaves the source alone.
	NeedsDestination bool

	// ReadsBeforeStreaming: Backup reads everything from the server before
	// it writes its first byte (git clones, then bundles), so no connection
	// can be cut mid-stream. The engine's own tests cover a connection lost
	// while it reads.
	ReadsBeforeStreaming bool

	// NoServerVersion: the protocol does not tell the server's version, so
	// Result.ServerVersion may be empty.
	NoServerVersion bool
}
