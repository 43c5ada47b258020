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
	src := h.NewTarget(t)
	dump, res := backup(t, h, src)
	want := h.Fingerprint(t, src, "")
	f := fixture{h: h, src: src, dump: dump, want: want}

	t.Run("Result", func(t *testing.T) { checkResult(t, res, len(dump)) })
	t.Run("RoundTripIntoNewDatabase", f.roundTripNew)
	t.Run("RoundTripIntoEmptyDatabase", f.roundTripEmpty)
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

// fixture is the source database and its dump, shared by the cases; none of
// them changes the source except CleanOntoItself, which restores it as it was.
type fixture struct {
	h    Harness
	src  engine.Target
	dump []byte
	want string
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

func checkResult(t *testing.T, res engine.Result, size int) {
	if res.ServerVersion == "" {
		t.Error("Result.ServerVersion is empty")
	}
	if res.ToolVersion == "" {
		t.Error("Result.ToolVersion is empty")
	}
	if size < MinDumpSize {
		t.Errorf("the fixture's dump is %d bytes, want at least %d: make the large row larger", size, MinDumpSize)
	}
	t.Logf("server %q, tool %q, dump %d bytes", res.ServerVersion, res.ToolVersion, size)
}
