package enginetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
)

// opTimeout bounds each Backup and Restore, so a hang fails the test with a
// message instead of the package timeout.
const opTimeout = 3 * time.Minute

// Run runs the conformance suite. It is not parallel: cases change PATH and
// TMPDIR of the process.
func Run(t *testing.T, h Harness) {
	traits := h.Traits()
	remote, isRemote := h.(Remote)
	switch {
	case !traits.Local && !isRemote:
		t.Fatalf("harness %T does not implement enginetest.Remote: implement it, or set Traits.Local", h)
	case traits.Local && isRemote:
		t.Fatalf("harness %T implements enginetest.Remote but sets Traits.Local: which is it?", h)
	}
	src := h.NewTarget(t)
	dump, res := backup(t, h, src)
	want := h.Fingerprint(t, src, engine.RestoreOptions{})
	f := fixture{h: h, remote: remote, traits: traits, src: src, dump: dump, want: want}

	t.Run("Result", func(t *testing.T) { f.checkResult(t, res) })
	t.Run("RoundTripIntoNewDestination", f.roundTripNew)
	t.Run("RoundTripIntoEmptyDestination", f.roundTripEmpty)
	t.Run("NotEmptyThenClean", f.notEmptyThenClean)
	t.Run("CleanOntoItself", f.cleanOntoItself)
	t.Run("WriterFails", f.writerFails)
	t.Run("DumpProcessKilled", f.dumpProcessKilled)
	t.Run("ConnectionLostMidStream", f.connectionLost)
	t.Run("Canceled", f.canceled)
	t.Run("ReaderFails", f.readerFails)
	t.Run("PasswordStaysSecret", f.passwordStaysSecret)
	t.Run("BadCredentials", f.badCredentials)
	t.Run("Unreachable", f.unreachable)
	t.Run("ToolMissing", f.toolMissing)
}

// fixture is the source and its dump, shared by the cases; none of them
// changes the source except CleanOntoItself, which restores it as it was.
type fixture struct {
	h      Harness
	remote Remote // nil for a Local engine
	traits Traits
	src    engine.Target
	dump   []byte
	want   string
}

// needRemote skips a case that needs a server.
func (f fixture) needRemote(t *testing.T) {
	t.Helper()
	if f.remote == nil {
		t.Skip("the engine's targets are local: no server, no credentials")
	}
}

func backup(t *testing.T, h Harness, target engine.Target) ([]byte, engine.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var buf bytes.Buffer
	res, err := h.Engine().Backup(ctx, target, &buf)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return buf.Bytes(), res
}

func restore(ctx context.Context, h Harness, target engine.Target, dump []byte, opts engine.RestoreOptions) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return h.Engine().Restore(ctx, target, bytes.NewReader(dump), opts)
}

func (f fixture) checkResult(t *testing.T, res engine.Result) {
	if res.ServerVersion == "" && !f.traits.Local && !f.traits.NoServerVersion {
		t.Error("Result.ServerVersion is empty")
	}
	if res.ToolVersion == "" {
		t.Error("Result.ToolVersion is empty")
	}
	if len(f.dump) < MinDumpSize {
		t.Errorf("the fixture's dump is %d bytes, want at least %d: make the large value larger", len(f.dump), MinDumpSize)
	}
	t.Logf("server %q, tool %q, dump %d bytes", res.ServerVersion, res.ToolVersion, len(f.dump))
}

// destName is what an error about dest must mention.
func destName(dest engine.RestoreOptions) string {
	if dest.IntoDatabase != "" {
		return dest.IntoDatabase
	}
	return dest.IntoPath
}
