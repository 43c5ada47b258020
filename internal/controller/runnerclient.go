package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// Errors of runner calls that reconcilers decide on.
var (
	errRunnerBusy     = errors.New("the runner is busy with another backup or restore")
	errRunnerNotFound = errors.New("the runner does not know it")
	errRunnerInvalid  = errors.New("the runner refused the request")
)

// RunnerURLFunc says where a definition's runner API is. In a cluster it is
// the runner's Service; tests that play kubelet point it at a local process.
type RunnerURLFunc func(operatorNamespace, definitionNamespace, definitionName string) string

// ServiceURL is the in-cluster address of a runner.
func ServiceURL(operatorNamespace, namespace, name string) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", RunnerName(namespace, name), operatorNamespace, RunnerPort)
}

// runnerClient calls one runner's /v1 API with its bearer token.
type runnerClient struct {
	base  string
	token string
	http  *http.Client
}

// RunnerCalls is how reconcilers reach runners: the token comes from the
// rendered config Secret, the address from URL (ServiceURL when nil).
type RunnerCalls struct {
	Reader            client.Reader
	OperatorNamespace string
	URL               RunnerURLFunc
	HTTP              *http.Client
}

// forDefinition builds a client for a definition's runner, reading its token
// from the rendered config Secret.
func (c RunnerCalls) forDefinition(ctx context.Context, namespace, name string) (*runnerClient, error) {
	sec := &corev1.Secret{}
	key := types.NamespacedName{Namespace: c.OperatorNamespace, Name: RunnerName(namespace, name)}
	if err := c.Reader.Get(ctx, key, sec); err != nil {
		return nil, fmt.Errorf("runner config %s: %w", key, err)
	}
	urlOf := c.URL
	if urlOf == nil {
		urlOf = ServiceURL
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second, Transport: runnerTransport}
	}
	return &runnerClient{base: urlOf(c.OperatorNamespace, namespace, name), token: string(sec.Data[tokenKey]), http: hc}, nil
}

// runnerTransport opens a connection per call. A kept-alive connection
// outlives the Service endpoint it was made to: after a runner roll, or a
// ClusterIP given to a new runner's Service, it kept talking to whatever
// was there before, and RunnerReachable stayed False until the controller
// restarted. Calls are seconds apart, so new connections cost nothing.
var runnerTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableKeepAlives = true
	return t
}()

func (c *runnerClient) backups(ctx context.Context) ([]runnerapi.Backup, error) {
	var list runnerapi.BackupList
	err := c.do(ctx, http.MethodGet, "/v1/backups", nil, &list)
	return list.Items, err
}

func (c *runnerClient) backup(ctx context.Context, id string) (runnerapi.Backup, error) {
	var b runnerapi.Backup
	return b, c.do(ctx, http.MethodGet, "/v1/backups/"+id, nil, &b)
}

func (c *runnerClient) trigger(ctx context.Context, req runnerapi.BackupRequest) (runnerapi.Backup, error) {
	var b runnerapi.Backup
	return b, c.do(ctx, http.MethodPost, "/v1/backups", req, &b)
}

// setLabel adds (set) or removes a user label of a committed backup.
func (c *runnerClient) setLabel(ctx context.Context, id, label string, set bool) (runnerapi.Backup, error) {
	method := http.MethodDelete
	if set {
		method = http.MethodPut
	}
	var b runnerapi.Backup
	return b, c.do(ctx, method, "/v1/backups/"+url.PathEscape(id)+"/labels/"+url.PathEscape(label), nil, &b)
}

func (c *runnerClient) startRestore(ctx context.Context, req runnerapi.RestoreRequest) (runnerapi.Restore, error) {
	var r runnerapi.Restore
	return r, c.do(ctx, http.MethodPost, "/v1/restores", req, &r)
}

func (c *runnerClient) restore(ctx context.Context, id string) (runnerapi.Restore, error) {
	var r runnerapi.Restore
	return r, c.do(ctx, http.MethodGet, "/v1/restores/"+id, nil, &r)
}

func (c *runnerClient) volumePushes(ctx context.Context) ([]runnerapi.VolumePush, error) {
	var list runnerapi.VolumePushList
	err := c.do(ctx, http.MethodGet, "/v1/volume-pushes", nil, &list)
	return list.Items, err
}

func (c *runnerClient) do(ctx context.Context, method, path string, in, out any) error {
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
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		switch resp.StatusCode {
		case http.StatusConflict:
			return fmt.Errorf("%w: %s", errRunnerBusy, e.Error)
		case http.StatusNotFound:
			if e.Error == "" {
				// The runner always says what it does not know. A bare 404
				// is something else at the Service's address (a stale
				// endpoint after a roll): never evidence that work is lost.
				return fmt.Errorf("runner %s %s: %s without the runner's error body: not the runner", method, path, resp.Status)
			}
			return fmt.Errorf("%w: %s", errRunnerNotFound, e.Error)
		case http.StatusBadRequest:
			return fmt.Errorf("%w: %s", errRunnerInvalid, e.Error)
		}
		return fmt.Errorf("runner %s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	return json.Unmarshal(data, out)
}
