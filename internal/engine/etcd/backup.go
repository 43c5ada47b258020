package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/tool"
)

// toolVersion names the client library that takes the snapshot.
func toolVersion() string { return "go.etcd.io/etcd/client/v3 " + version.Version }

// Backup streams a snapshot of one member to w. The endpoints are tried in
// order: the first that connects, authenticates and reports a usable
// status (not a learner, no CORRUPT alarm; a NOSPACE alarm does not stop a
// snapshot) is the one snapshotted. Once its first byte is written there is
// no falling back to another member.
func (e *Engine) Backup(ctx context.Context, t engine.Target, w io.Writer) (engine.Result, error) {
	c, err := resolve(t)
	if err != nil {
		return engine.Result{}, err
	}
	res, err := c.backup(ctx, w, e.connectTimeout())
	if err != nil {
		return engine.Result{}, tool.Redact(fmt.Errorf("backup of %s: %w", c.where(), err), c.secrets...)
	}
	return res, nil
}

func (c conn) backup(ctx context.Context, w io.Writer, timeout time.Duration) (engine.Result, error) {
	var failures []error
	for _, ep := range c.endpoints {
		cli, status, err := c.member(ctx, ep, timeout)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return engine.Result{}, ctxErr
			}
			failures = append(failures, fmt.Errorf("%s: %w", ep, err))
			continue
		}
		err = snapshot(ctx, cli, w)
		_ = cli.Close()
		if err != nil {
			return engine.Result{}, fmt.Errorf("snapshot from %s: %w", ep, err)
		}
		return engine.Result{ServerVersion: status.Version, ToolVersion: toolVersion()}, nil
	}
	if len(failures) == 1 {
		return engine.Result{}, failures[0]
	}
	return engine.Result{}, fmt.Errorf("no member can serve a snapshot: %w", joined(failures))
}

// joined is errors.Join on one line.
type joined []error

func (j joined) Error() string {
	msgs := make([]string, len(j))
	for i, err := range j {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j joined) Unwrap() []error { return j }

// member connects to ep and checks that it can serve a snapshot.
func (c conn) member(ctx context.Context, ep string, timeout time.Duration) (*clientv3.Client, *clientv3.StatusResponse, error) {
	cli, err := c.client(ctx, ep, timeout)
	if err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	status, err := cli.Status(sctx, ep)
	switch {
	case err != nil && sctx.Err() != nil && ctx.Err() == nil:
		err = fmt.Errorf("no answer within %v: %w", timeout, whyUnreachable(ctx, cli))
	case err != nil:
		err = fmt.Errorf("status: %w", clientv3.ContextError(sctx, err))
	case status.IsLearner:
		err = errors.New("member is a learner, which may lag behind")
	case corrupt(status.Errors):
		err = fmt.Errorf("member raised the CORRUPT alarm: %v", status.Errors)
	}
	if err != nil {
		_ = cli.Close()
		return nil, nil, err
	}
	return cli, status, nil
}

// corrupt reports a CORRUPT alarm among a member's status errors. Other
// alarms (NOSPACE) do not stop a snapshot: a full cluster is one to save.
func corrupt(errs []string) bool {
	for _, e := range errs {
		if strings.Contains(e, "CORRUPT") {
			return true
		}
	}
	return false
}

// whyUnreachable asks once more without waiting for the connection to
// become ready: the client library waits for it until the deadline, and
// then reports only the deadline, where the user needs the reason (refused,
// TLS handshake, certificate).
func whyUnreachable(ctx context.Context, cli *clientv3.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := pb.NewMaintenanceClient(cli.ActiveConnection()).Status(ctx, &pb.StatusRequest{}, grpc.WaitForReady(false))
	if err == nil {
		return errors.New("the member answered only after the deadline")
	}
	return err
}

// snapshot copies the member's snapshot stream to w and checks the SHA-256
// the server appends to it.
func snapshot(ctx context.Context, cli *clientv3.Client, w io.Writer) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := cli.SnapshotWithVersion(sctx)
	if err != nil {
		return clientv3.ContextError(sctx, err)
	}
	defer resp.Snapshot.Close()
	sum := newChecksum()
	out := &writeErr{w: w}
	_, err = io.Copy(io.MultiWriter(out, sum), resp.Snapshot)
	switch {
	case out.err != nil:
		return fmt.Errorf("writing the snapshot: %w", out.err)
	case ctx.Err() != nil:
		// The stream may have ended before it noticed: a cancelled backup
		// is never complete.
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("receiving the snapshot: %w", err)
	}
	return sum.verify()
}

// writeErr remembers the error of the writer it wraps, to tell the
// storage's failures from the stream's.
type writeErr struct {
	w   io.Writer
	err error
}

func (e *writeErr) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
