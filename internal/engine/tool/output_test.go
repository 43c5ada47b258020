//go:build linux

package tool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"
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
