package tool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/engine"
)

const (
	// stderrLimit bounds how much of a tool's stderr is kept for errors.
	stderrLimit = 8 << 10
	// waitDelay bounds how long Run waits, after the child was killed or
	// exited, for its pipes to drain (grandchildren may hold them open).
	waitDelay = 10 * time.Second
)

// Cmd is one run of a client tool.
type Cmd struct {
	// Path of the executable, from Find.
	Path string
	// Args after the program name. Never secrets: any local user can read
	// a process's arguments.
	Args []string
	// Env entries (KEY=value) set for the child on top of the inherited
	// environment. Never secret values: only paths to secret files.
	Env []string
	// Unset names inherited variables the child must not see, such as
	// PGPASSWORD, which would override the configured credentials.
	Unset []string
	// Stdin, when set, is streamed to the tool. A read error kills the tool
	// at once, so it never acts on a stream that ended early.
	Stdin io.Reader
	// Stdout, when set, receives the tool's output. A write error kills the
	// tool.
	Stdout io.Writer
	// Secrets are scrubbed from the stderr quoted in errors.
	Secrets []string
}

// Run starts the tool and waits for it. It fails when the tool exits
// non-zero or is killed, when ctx ends (the child is killed), or when
// reading Stdin or writing Stdout fails; that stream error is then the one
// wrapped. After a successful run the rest of Stdin is read and discarded,
// so that a reader which verifies its stream at EOF gets to do it.
func (c Cmd) Run(ctx context.Context) error {
	name := filepath.Base(c.Path)
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = environ(os.Environ(), c.Unset, c.Env)
	cmd.WaitDelay = waitDelay
	ownGroup(cmd)
	stderr := newTail(stderrLimit)
	cmd.Stderr = stderr
	streamErr := &firstError{}
	if c.Stdout != nil {
		cmd.Stdout = &killingWriter{w: c.Stdout, cmd: cmd, first: streamErr}
	}
	if c.Stdin != nil {
		cmd.Stdin = &killingReader{r: c.Stdin, cmd: cmd, first: streamErr}
	}
	runErr := cmd.Run()
	if err := streamErr.get(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if runErr != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w", name, ctxErr)
		}
		return fmt.Errorf("%s failed: %w%s", name, runErr, quote(stderr.String(c.Secrets)))
	}
	if c.Stdin != nil {
		if _, err := io.Copy(io.Discard, c.Stdin); err != nil {
			return fmt.Errorf("%s: %w: %w", name, engine.ErrInputAfterRestore, err)
		}
	}
	return nil
}

func quote(stderr string) string {
	if stderr == "" {
		return ""
	}
	return ": " + stderr
}

// environ is base without the unset names and without the names set by
// extra, followed by extra.
func environ(base, unset, extra []string) []string {
	drop := map[string]bool{}
	for _, name := range unset {
		drop[name] = true
	}
	for _, kv := range extra {
		name, _, _ := strings.Cut(kv, "=")
		drop[name] = true
	}
	env := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// firstError keeps the first stream error of a run.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// killingWriter passes the tool's output on. exec copies into it from a
// goroutine started after the process, so cmd.Process is set.
type killingWriter struct {
	w     io.Writer
	cmd   *exec.Cmd
	first *firstError
}

func (k *killingWriter) Write(p []byte) (int, error) {
	n, err := k.w.Write(p)
	if err != nil {
		k.first.set(fmt.Errorf("writing output: %w", err))
		_ = kill(k.cmd)
	}
	return n, err
}

// killingReader feeds the tool. On a read error the tool is killed before
// exec closes its stdin, so it cannot mistake the cut for the end.
type killingReader struct {
	r     io.Reader
	cmd   *exec.Cmd
	first *firstError
}

func (k *killingReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		_ = kill(k.cmd)
		k.first.set(fmt.Errorf("reading input: %w", err))
	}
	return n, err
}
