package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coffer-dev/coffer/internal/engine/pgwire"
)

// maintenanceIdle is how long a connection to the maintenance database is
// kept after use. A restore into a new database looks the name up, drops
// what interrupted restores left, creates the database and renames it in
// quick succession, through one connection instead of four new ones (a
// connection costs the server a process: 8 – 25 ms here).
const maintenanceIdle = 2 * time.Second

// maintenancePool keeps at most one idle connection per server and
// credentials, closed once it has been idle for maintenanceIdle.
type maintenancePool struct {
	mu   sync.Mutex
	idle map[pgwire.Endpoint]*idleConn
}

type idleConn struct {
	pc    *pgx.Conn
	timer *time.Timer
}

var maintenance maintenancePool

// withMaintenance runs f on a connection to the maintenance database, one
// an earlier call left idle if it still answers. The connection is kept
// for the next call only when f succeeded: after an error it may be inside
// a failed transaction, so it is closed. A failure to connect names the
// server, without the password.
func (c conn) withMaintenance(ctx context.Context, f func(*pgx.Conn) error) error {
	e := c.endpoint()
	pc := maintenance.take(ctx, e)
	if pc == nil {
		var err error
		if pc, err = c.connectMaintenance(ctx); err != nil {
			return err
		}
	}
	if err := f(pc); err != nil {
		_ = pc.Close(context.WithoutCancel(ctx))
		return err
	}
	maintenance.put(e, pc)
	return nil
}

// take returns the idle connection to e, or nil when there is none or it
// no longer answers (the server restarted, say).
func (p *maintenancePool) take(ctx context.Context, e pgwire.Endpoint) *pgx.Conn {
	p.mu.Lock()
	ic := p.idle[e]
	delete(p.idle, e)
	p.mu.Unlock()
	if ic == nil {
		return nil
	}
	ic.timer.Stop()
	if err := ic.pc.Ping(ctx); err != nil {
		_ = ic.pc.Close(context.WithoutCancel(ctx))
		return nil
	}
	return ic.pc
}

// put keeps pc as e's idle connection, or closes it when e has one.
func (p *maintenancePool) put(e pgwire.Endpoint, pc *pgx.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle[e] != nil {
		go closeQuietly(pc)
		return
	}
	if p.idle == nil {
		p.idle = map[pgwire.Endpoint]*idleConn{}
	}
	ic := &idleConn{pc: pc}
	ic.timer = time.AfterFunc(maintenanceIdle, func() {
		p.mu.Lock()
		mine := p.idle[e] == ic
		if mine {
			delete(p.idle, e)
		}
		p.mu.Unlock()
		if mine {
			closeQuietly(pc)
		}
	})
	p.idle[e] = ic
}

func closeQuietly(pc *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = pc.Close(ctx)
}
