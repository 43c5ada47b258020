//go:build linux

package tool

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
)

// TestRunOutputPipeIsGrown: a tool can write 768 KiB ahead of a reader
// that is busy (more than the default 64 KiB pipe, less than the 1 MiB
// one), and every byte arrives in order.
func TestRunOutputPipeIsGrown(t *testing.T) {
	done := filepath.Join(t.TempDir(), "done")
	const size = 768 << 10
	out := &slowFirstWrite{done: done}
	cmd := Cmd{Path: sh(t), Args: []string{"-c", `head -c 786432 /dev/urandom | tee "$1"; touch "$2"`, "sh", done + ".data", done}, Stdout: out}
	if err := cmd.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !out.sawDone {
		t.Fatal("the tool could not finish writing while its output waited: the stdout pipe was not grown")
	}
	want, err := os.ReadFile(done + ".data")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != size || out.buf.Len() != size || sha256.Sum256(out.buf.Bytes()) != sha256.Sum256(want) {
		t.Fatalf("got %d bytes, the tool wrote %d (%d expected), or they differ", out.buf.Len(), len(want), size)
	}
}

// slowFirstWrite holds its first Write until the done file exists (or 20 s
// pass), as a runner busy uploading would.
type slowFirstWrite struct {
	done    string
	buf     bytes.Buffer
	waited  bool
	sawDone bool
}

func (s *slowFirstWrite) Write(p []byte) (int, error) {
	if !s.waited {
		s.waited = true
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(s.done); err == nil {
				s.sawDone = true
				break
			}
		}
	}
	return s.buf.Write(p)
}

// TestRunInputPipeIsGrown: the runner can hand a tool 768 KiB of input
// before the tool reads any (more than the default 64 KiB pipe, less than
// the 1 MiB one), and the tool gets every byte in order.
func TestRunInputPipeIsGrown(t *testing.T) {
	dir := t.TempDir()
	done, got := filepath.Join(dir, "done"), filepath.Join(dir, "got")
	input := make([]byte, 768<<10)
	if _, err := rand.Read(input); err != nil {
		t.Fatal(err)
	}
	// The tool waits (at most 20 s) for the whole input to be written
	// before it reads any.
	script := `i=0; while [ ! -e "$1" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; [ -e "$1" ] || { echo "input not all written" >&2; exit 7; }; cat > "$2"`
	in := io.MultiReader(bytes.NewReader(input), &touchAtEOF{path: done})
	cmd := Cmd{Path: sh(t), Args: []string{"-c", script, "sh", done, got}, Stdin: in}
	if err := cmd.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v (the stdin pipe was not grown?)", err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, input) {
		t.Fatalf("the tool read %d bytes, want the %d given, in order", len(b), len(input))
	}
}

// touchAtEOF creates path when it is read, and reads as empty.
type touchAtEOF struct{ path string }

func (e *touchAtEOF) Read([]byte) (int, error) {
	if err := os.WriteFile(e.path, nil, 0o600); err != nil {
		return 0, err
	}
	return 0, io.EOF
}

// TestRunInputFailingAfterTheToolFinished: a tool that exits successfully
// before reading all its input, whose rest then fails, fails with
// engine.ErrInputAfterRestore: an all-or-nothing restore had committed.
func TestRunInputFailingAfterTheToolFinished(t *testing.T) {
	broken := errors.New("chunk 9 is damaged")
	// More than the grown pipe holds: the rest is read only after the tool
	// exited.
	in := io.MultiReader(bytes.NewReader(make([]byte, 4<<20)), iotest.ErrReader(broken))
	err := Cmd{Path: sh(t), Args: []string{"-c", "exit 0"}, Stdin: in}.Run(context.Background())
	if !errors.Is(err, engine.ErrInputAfterRestore) || !errors.Is(err, broken) {
		t.Fatalf("Run = %v; want ErrInputAfterRestore wrapping the input's error", err)
	}
	// A failure while the tool still reads is not one after it finished.
	in = io.MultiReader(bytes.NewReader(make([]byte, 4<<20)), iotest.ErrReader(broken))
	err = Cmd{Path: sh(t), Args: []string{"-c", "cat > /dev/null"}, Stdin: in}.Run(context.Background())
	if !errors.Is(err, broken) || errors.Is(err, engine.ErrInputAfterRestore) {
		t.Fatalf("Run of a tool reading a failing input = %v; want the input's error only", err)
	}
}
