package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// daemon is a `coffer-runner run` process.
type daemon struct {
	cmd   *exec.Cmd
	base  string
	token string
	logs  *syncBuffer
	done  chan struct{}
	code  int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// listeningOn finds the address in the runner's "API listening" log line.
var listeningOn = regexp.MustCompile(`msg="API listening" .*addr=(127\.0\.0\.1:\d+)`)

// startDaemon runs `coffer-runner run` on a loopback port the kernel picks
// (--listen 127.0.0.1:0: no race for a "free" port) and learns it from
// the runner's log.
func startDaemon(t *testing.T, s *setup, token string, args ...string) *daemon {
	t.Helper()
	d := &daemon{token: token, logs: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(runnerBin, append([]string{"run", "-f", s.path, "--listen", "127.0.0.1:0", "--log-level", "debug"}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := d.cmd.Wait()
		d.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			d.code = ee.ExitCode()
		}
		close(d.done)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("runner logs:\n%s", d.logs.String())
		}
	})
	d.waitFor(t, "the API listening", 20*time.Second, func() bool {
		m := listeningOn.FindStringSubmatch(d.logs.String())
		if m != nil {
			d.base = "http://" + m[1]
		}
		return m != nil
	})
	d.waitFor(t, "healthz", 20*time.Second, func() bool { return d.status(t, "GET", "/healthz", "", nil) == 200 })
	return d
}

// waitFor polls cond until it holds or the deadline passes.
func (d *daemon) waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		select {
		case <-d.done:
			t.Fatalf("runner exited (code %d) while waiting for %s", d.code, what)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("timed out after %v waiting for %s", within, what)
}

// call does an API request with the daemon's token and decodes the JSON answer into out.
func (d *daemon) call(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	return d.request(t, method, path, d.token, body, out)
}

// status does a request with an explicit token ("" for none).
func (d *daemon) status(t *testing.T, method, path, token string, out any) int {
	t.Helper()
	return d.request(t, method, path, token, nil, out)
}

func (d *daemon) request(t *testing.T, method, path, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil && resp.StatusCode < 300 {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// metric returns the text of the metrics lines that start with name.
func (d *daemon) metric(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get(d.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, name) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// apiBackup is the subset of the API's backup record the tests read.
type apiBackup struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

// waitBackup polls a backup until it is Completed or Failed.
func (d *daemon) waitBackup(t *testing.T, id string) apiBackup {
	t.Helper()
	var b apiBackup
	d.waitFor(t, "backup "+id, 120*time.Second, func() bool {
		d.call(t, "GET", "/v1/backups/"+id, nil, &b)
		return b.Status == "Completed" || b.Status == "Failed"
	})
	return b
}

func (d *daemon) signal(sig syscall.Signal) { d.cmd.Process.Signal(sig) }

// bigTable makes pg_dump take a few seconds.
func bigTable(t *testing.T, db string, rows int) {
	t.Helper()
	psql(t, db, fmt.Sprintf("CREATE TABLE big AS SELECT i, repeat(md5(i::text), 20) AS body FROM generate_series(1, %d) AS i", rows))
}

// waitCopying waits until pg_dump is copying a table of db.
func waitCopying(t *testing.T, d *daemon, db string) {
	t.Helper()
	d.waitFor(t, "pg_dump copying", 60*time.Second, func() bool {
		return psql(t, "postgres", fmt.Sprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND application_name = 'pg_dump' AND query ILIKE 'COPY%%'", db)) != "0"
	})
}
