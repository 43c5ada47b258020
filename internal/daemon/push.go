package daemon

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// pushEndpoint is the runner's endpoint for push sources (CockroachDB's
// BACKUP INTO 'http://...', reader pods of volumes), served on the API port
// beside /v1. It exists only when a target needs it. Its base URL is how
// sources reach this runner: --advertise-url (the operator passes the
// runner's Service), else the first cockroach target's endpointURL.
func pushEndpoint(cfg *config.Config, advertise string, log *slog.Logger) (*pushendpoint.Endpoint, error) {
	base := advertise
	needed := false
	for i := range cfg.Definition.Spec.Targets {
		t := &cfg.Definition.Spec.Targets[i]
		for _, e := range all.Selected(t) {
			if e.Push == nil {
				continue
			}
			need := e.Push(t)
			if !need.Needed {
				continue
			}
			needed = true
			if need.ControllerPods && advertise == "" {
				return nil, fmt.Errorf("%s: target %q is read and written by pods the controller starts, which need the runner's address: run with --advertise-url (the operator sets it)",
					cfg.Path, t.Name)
			}
			if base == "" {
				base = need.BaseURL
			}
		}
	}
	if !needed || base == "" {
		return nil, nil
	}
	return pushendpoint.New(base, log)
}

// withPush serves the push endpoint beside the API. The push paths carry
// their own per-session random token and are not behind the API's bearer
// token: CockroachDB cannot send one.
func withPush(api http.Handler, push *pushendpoint.Endpoint) http.Handler {
	if push == nil {
		return api
	}
	mux := http.NewServeMux()
	mux.Handle(pushendpoint.Prefix, push)
	mux.Handle("/", api)
	return mux
}
