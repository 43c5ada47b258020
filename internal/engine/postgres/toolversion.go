package postgres

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// majorFunc waits for a client tool's major version (0 when its --version
// names none).
type majorFunc func(context.Context) (int, error)

// toolMajors holds each client tool's major version, by path, once asked:
// a daemon restores many times with the same tools, and a restore asks
// while it prepares the destination instead of after.
var toolMajors sync.Map // path → *majorProbe

type majorProbe struct {
	done  chan struct{}
	major int
	err   error
}

// probeTimeout bounds `tool --version`.
const probeTimeout = 30 * time.Second

// probeMajor starts asking the tool at path for its version, unless this
// process already has (or is asking), and returns what waits for the
// answer. A failed answer is forgotten, so the next restore asks again.
func probeMajor(path string) majorFunc {
	p := &majorProbe{done: make(chan struct{})}
	if got, loaded := toolMajors.LoadOrStore(path, p); loaded {
		p = got.(*majorProbe)
	} else {
		go func() {
			defer close(p.done)
			if p.major, p.err = askMajor(path); p.err != nil {
				toolMajors.CompareAndDelete(path, p)
			}
		}()
	}
	return func(ctx context.Context) (int, error) {
		select {
		case <-p.done:
			return p.major, p.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

var versionMajor = regexp.MustCompile(`\) (\d+)`) // pg_restore (PostgreSQL) 17.6 (Debian ...)

func askMajor(path string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("%s --version: %w", path, err)
	}
	m := versionMajor.FindStringSubmatch(string(out))
	if m == nil {
		return 0, nil
	}
	major, _ := strconv.Atoi(m[1])
	return major, nil
}
