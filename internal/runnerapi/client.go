package runnerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Probe paths, public: the runner pod's readiness and liveness probes use
// them too.
const (
	PathHealthz = "/healthz"
	PathReadyz  = "/readyz"
	PathMetrics = "/metrics"
)

// DefaultClientTimeout bounds one call when NewClient is given no
// http.Client.
const DefaultClientTimeout = 10 * time.Second

// maxResponseBytes bounds what the Client reads of an answer; a catalog
// listing of thousands of backups is a few megabytes.
const maxResponseBytes = 64 << 20

// Client calls one runner's API with its bearer token. Error answers come
// back as *ResponseError wrapping the sentinel of their status (ErrNotFound,
// ErrBusy, ErrInvalid, ...): the reverse of the handler's mapping, read from
// the same table. A runner that cannot be reached is an error wrapping the
// transport's.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient calls the runner at base ("http://host:port") with token; hc
// nil means a client with DefaultClientTimeout.
func NewClient(base, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultClientTimeout, Transport: noKeepAlive}
	}
	return &Client{base: base, token: token, http: hc}
}

// noKeepAlive opens a connection per call. A kept-alive connection
// outlives the Service endpoint it was made to: after a runner roll, or a
// ClusterIP given to a new runner's Service, it kept talking to whatever was
// there before, and RunnerReachable stayed False until the controller
// restarted. Calls are seconds apart, so new connections cost nothing.
var noKeepAlive = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableKeepAlives = true
	return t
}()

// Healthz is nil when the runner process answers.
func (c *Client) Healthz(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, PathHealthz, nil, &statusBody{})
}

// Ready is nil when the runner is ready; otherwise an error wrapping
// ErrNotReady (or why it could not be asked).
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, PathReadyz, nil, &statusBody{})
}

// Metrics returns the runner's Prometheus exposition.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	var raw rawBody
	err := c.do(ctx, http.MethodGet, PathMetrics, nil, &raw)
	return raw, err
}

// Backups lists the runner's backups and attempts, oldest first.
func (c *Client) Backups(ctx context.Context) ([]Backup, error) {
	var list BackupList
	err := c.do(ctx, http.MethodGet, "/v1/backups", nil, &list)
	return list.Items, err
}

// Backup returns one backup or attempt.
func (c *Client) Backup(ctx context.Context, id string) (Backup, error) {
	var b Backup
	return b, c.do(ctx, http.MethodGet, "/v1/backups/"+url.PathEscape(id), nil, &b)
}

// TriggerBackup starts an on-demand backup.
func (c *Client) TriggerBackup(ctx context.Context, req BackupRequest) (Backup, error) {
	var b Backup
	return b, c.do(ctx, http.MethodPost, "/v1/backups", req, &b)
}

// SetLabel adds (set) or removes a user label of a committed backup.
func (c *Client) SetLabel(ctx context.Context, id, label string, set bool) (Backup, error) {
	method := http.MethodDelete
	if set {
		method = http.MethodPut
	}
	var b Backup
	return b, c.do(ctx, method, "/v1/backups/"+url.PathEscape(id)+"/labels/"+url.PathEscape(label), nil, &b)
}

// StartRestore starts a restore.
func (c *Client) StartRestore(ctx context.Context, req RestoreRequest) (Restore, error) {
	var r Restore
	return r, c.do(ctx, http.MethodPost, "/v1/restores", req, &r)
}

// Restore returns one restore.
func (c *Client) Restore(ctx context.Context, id string) (Restore, error) {
	var r Restore
	return r, c.do(ctx, http.MethodGet, "/v1/restores/"+url.PathEscape(id), nil, &r)
}

// Status is the runner's state of what proves its backups (offsite copy,
// verification, restore tests): GET /v1/status.
func (c *Client) Status(ctx context.Context) (RunnerStatus, error) {
	var st RunnerStatus
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// VolumePushes lists the volume pushes the runner waits for.
func (c *Client) VolumePushes(ctx context.Context) ([]VolumePush, error) {
	var list VolumePushList
	err := c.do(ctx, http.MethodGet, "/v1/volume-pushes", nil, &list)
	return list.Items, err
}

// rawBody takes an answer that is not JSON as it is.
type rawBody []byte

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("runner %s unreachable: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e errorBody
		_ = json.Unmarshal(data, &e)
		return responseError(method, path, resp.StatusCode, e.Error)
	}
	if raw, ok := out.(*rawBody); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, out)
}
