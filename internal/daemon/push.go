package daemon

import (
	"log/slog"
	"net/http"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/engine/cockroach"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// pushEndpoint is the runner's endpoint for push sources (CockroachDB's
// BACKUP INTO 'http://...'), served on the API port beside /v1. It exists
// only when a target needs it: the first cockroach target's endpointURL
// says how sources reach this runner.
func pushEndpoint(cfg *config.Config, log *slog.Logger) (*pushendpoint.Endpoint, error) {
	for _, t := range cfg.Definition.Spec.Targets {
		if t.Cockroach != nil && t.Cockroach.EndpointURL != "" {
			return pushendpoint.New(t.Cockroach.EndpointURL, log)
		}
	}
	return nil, nil
}

// enginesWith gives cockroach targets the daemon's push endpoint, so their
// sessions live on the runner's port instead of a listener of their own.
func enginesWith(push *pushendpoint.Endpoint, log *slog.Logger) func(v1alpha1.Target) (engine.Engine, error) {
	return func(t v1alpha1.Target) (engine.Engine, error) {
		if t.Cockroach != nil && push != nil {
			return &cockroach.Engine{Push: push, Log: log}, nil
		}
		return all.For(t)
	}
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
