package daemon

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/config"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"github.com/coffer-dev/coffer/internal/engine/cockroach"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
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
	for _, t := range cfg.Definition.Spec.Targets {
		if t.Cockroach != nil {
			needed = true
			if base == "" {
				base = t.Cockroach.EndpointURL
			}
		}
		if t.Filesystem != nil && t.Filesystem.PersistentVolumeClaim != "" {
			needed = true
			if advertise == "" {
				return nil, fmt.Errorf("%s: target %q backs up volume %s through a reader pod, which needs the runner's address: run with --advertise-url (the operator sets it)",
					cfg.Path, t.Name, t.Filesystem.PersistentVolumeClaim)
			}
		}
	}
	if !needed || base == "" {
		return nil, nil
	}
	return pushendpoint.New(base, log)
}

// enginesWith gives cockroach targets the daemon's push endpoint, so their
// sessions live on the runner's port instead of a listener of their own,
// and claim-backed filesystem targets the volume engine.
func enginesWith(push *pushendpoint.Endpoint, vols *volumes, log *slog.Logger) func(v1alpha1.Target) (engine.Engine, error) {
	return func(t v1alpha1.Target) (engine.Engine, error) {
		switch {
		case t.Cockroach != nil && push != nil:
			return &cockroach.Engine{Push: push, Log: log}, nil
		case t.Filesystem != nil && t.Filesystem.PersistentVolumeClaim != "" && vols != nil:
			return &volumeEngine{v: vols, fs: &filesystem.Engine{Log: log}}, nil
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
