// Package kubernetes backs up Kubernetes resources through the API server
// and restores them, the way Velero's users know, with Coffer's promise
// kept: the backup is a plain tar of one JSON file per object, which
// `tar x` and `kubectl apply` restore without Coffer (docs/format.md).
//
// Backup discovers every resource the server lists, at its preferred
// version, filters resources and namespaces by the target's globs, and
// lists each resource in pages. A page is decoded one object at a time as
// it arrives and each object goes straight into the tar, without its
// managedFields, so memory does not grow with the cluster. Objects are
// written in restore order: CRDs, namespaces, then a fixed priority list
// (storage, identities, configuration, workloads, pods), then the rest by
// name, with admission webhooks and aggregated APIs last; within a
// resource, the objects orderedResources names come first (docs/engines.md).
// The tar ends with index.json: what was included, and what was skipped
// and why.
//
// Restore reads the tar in that order, one object at a time. It creates
// CRDs and waits until they are Established, maps namespaces, strips what
// the server sets (uid, resourceVersion, status, ...), keeps owner
// references only to objects it restored (with their new uid), and skips
// or updates (server-side apply) what exists. Every object gets a result;
// a restore with failed objects ends with engine.ErrPartiallyFailed.
//
// The engine talks to the API server with the runner pod's ServiceAccount,
// which the operator binds read-only, or with a kubeconfig from a Secret
// whose credentials are inline: no credential plugin runs, no file is read.
package kubernetes

import (
	"context"
	"errors"
	"log/slog"
	"runtime"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
	"k8s.io/client-go/rest"
)

// Engine is the Kubernetes resources engine. The zero value is ready to use.
type Engine struct {
	// Log receives per-object restore results and backup summaries; nil
	// means slog.Default().
	Log *slog.Logger
	// Config, when set, replaces the kubeconfig and in-cluster lookup
	// (tests connect as a chosen identity).
	Config func(engine.Target) (*rest.Config, error)
	// PageSize of list requests; zero means 500.
	PageSize int
}

// New returns the Kubernetes engine, logging to log (nil: slog.Default()).
func New(log *slog.Logger) *Engine { return &Engine{Log: log} }

var _ engine.Engine = (*Engine)(nil)

// Name is "kubernetes", the key of the target block.
func (*Engine) Name() string { return "kubernetes" }

// Extension is "tar": the dump is a tar of JSON files.
func (*Engine) Extension() string { return "tar" }

// Destinations: none of the path or database kind; where objects go is
// said by RestoreOptions.Kubernetes (namespace mapping).
func (*Engine) Destinations() []engine.Destination { return nil }

// Source is the cluster: the API server's URL, or "in-cluster".
func (*Engine) Source(t engine.Target) manifest.Source {
	return manifest.Source{Kind: manifest.SourceCluster, Identity: "kubernetes " + server(t)}
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

func (e *Engine) pageSize() int {
	if e.PageSize > 0 {
		return e.PageSize
	}
	return pageSize
}

// toolVersion describes the client for the manifest: Coffer itself.
func toolVersion() string {
	return "coffer kubernetes client (" + runtime.Version() + ")"
}

func ctxDone(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
