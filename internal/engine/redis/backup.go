package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// eofMarkLen is the length of the marker that ends a diskless snapshot.
const eofMarkLen = 40

// Backup streams an RDB snapshot of the target's server to w.
func (e *Engine) Backup(ctx context.Context, t engine.Target, w io.Writer) (engine.Result, error) {
	c, err := resolve(t)
	if err != nil {
		return engine.Result{}, err
	}
	res, err := c.backup(ctx, w)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return engine.Result{}, tool.Redact(fmt.Errorf("backup of %s: %w", c.where(), err), c.password)
	}
	return res, nil
}

func (c target) backup(ctx context.Context, w io.Writer) (engine.Result, error) {
	cn, err := c.dial(ctx)
	if err != nil {
		return engine.Result{}, err
	}
	defer cn.close()
	res := engine.Result{ToolVersion: toolVersion()}
	if res.ServerVersion, err = cn.serverVersion(); err != nil {
		return engine.Result{}, err
	}
	// Say that the EOF-marker form is understood, so a diskless server
	// need not write the snapshot to its disk; and, from Redis 7, that only
	// the snapshot is wanted, not the stream of writes after it. Older
	// servers refuse what they do not know, which changes nothing.
	for _, args := range [][]string{{"REPLCONF", "capa", "eof", "capa", "psync2"}, {"REPLCONF", "rdb-only", "1"}} {
		if _, err := cn.do(args...); err != nil {
			if _, refused := err.(serverError); !refused {
				return engine.Result{}, fmt.Errorf("%s: %w", strings.Join(args[:2], " "), err)
			}
		}
	}
	rep, err := cn.do("PSYNC", "?", "-1")
	if err != nil {
		return engine.Result{}, fmt.Errorf("asking for a snapshot (PSYNC): %w", err)
	}
	if !strings.HasPrefix(rep.text(), "FULLRESYNC") {
		return engine.Result{}, fmt.Errorf("asking for a snapshot (PSYNC): unexpected answer %q", clip(rep.text()))
	}
	check := &rdbCheck{w: w}
	if err := cn.readSnapshot(check); err != nil {
		return engine.Result{}, err
	}
	if err := check.finish(); err != nil {
		return engine.Result{}, err
	}
	return res, nil
}

// errWriting wraps a failure of the writer, to tell it from a read failure.
type errWriting struct{ err error }

func (e errWriting) Error() string { return "writing the snapshot: " + e.err.Error() }
func (e errWriting) Unwrap() error { return e.err }

// readSnapshot reads the bulk that follows FULLRESYNC: "$<length>" and that
// many bytes, or "$EOF:<mark>" and bytes up to the mark. Before it, the
// server sends bare newlines while it prepares the snapshot.
func (cn *conn) readSnapshot(w io.Writer) error {
	for {
		line, err := readLine(cn.r)
		if err != nil {
			return fmt.Errorf("waiting for the snapshot: %w", err)
		}
		if line == "" {
			continue
		}
		if line[0] == '-' {
			return fmt.Errorf("waiting for the snapshot: %w", serverError(line[1:]))
		}
		if line[0] != '$' {
			return fmt.Errorf("waiting for the snapshot: unexpected %q", clip(line))
		}
		if mark, ok := strings.CutPrefix(line, "$EOF:"); ok {
			if len(mark) != eofMarkLen {
				return fmt.Errorf("snapshot end marker of %d bytes, want %d", len(mark), eofMarkLen)
			}
			return cn.copyToMark(w, []byte(mark))
		}
		n, err := strconv.ParseInt(line[1:], 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("snapshot length %q", clip(line))
		}
		return cn.copyN(w, n)
	}
}

const chunk = 256 << 10

func (cn *conn) copyN(w io.Writer, n int64) error {
	buf := make([]byte, chunk)
	for done := int64(0); done < n; {
		k, err := cn.r.Read(buf[:min(int64(len(buf)), n-done)])
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return errWriting{werr}
			}
			done += int64(k)
		}
		if err != nil && done < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("snapshot cut after %d of %d bytes: %w", done, n, err)
		}
	}
	return nil
}

// copyToMark copies up to the marker. The server sends nothing after it
// until the replica acknowledges, so the marker is the end of what arrives;
// the last eofMarkLen bytes are held back until it is clear they are not it.
func (cn *conn) copyToMark(w io.Writer, mark []byte) error {
	buf := make([]byte, eofMarkLen+chunk)
	held := 0
	var total int64
	for {
		k, err := cn.r.Read(buf[held:])
		held += k
		total += int64(k)
		if held >= eofMarkLen && bytes.Equal(buf[held-eofMarkLen:held], mark) {
			if _, werr := w.Write(buf[:held-eofMarkLen]); werr != nil {
				return errWriting{werr}
			}
			return nil
		}
		if out := held - eofMarkLen; out > 0 {
			if _, werr := w.Write(buf[:out]); werr != nil {
				return errWriting{werr}
			}
			held = copy(buf, buf[out:held])
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("snapshot cut after %d bytes, before its end marker: %w", total, err)
		}
	}
}
