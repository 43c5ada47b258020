package runner

import (
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/manifest"
)

// ErrRequest marks a restore request that cannot be served as asked: a
// destination of a kind the target's engine does not take, a target the
// backup or the config does not have. It is found before any object is read
// or any database touched; the CLI exits 2 and the API answers 400.
var ErrRequest = errors.New("invalid restore request")

// override returns the kind and value of the destination override the
// request names, or "" when it restores into the targets' own places.
func (req RestoreRequest) override() (engine.Destination, string) {
	switch {
	case req.IntoDatabase != "":
		return engine.DestinationDatabase, req.IntoDatabase
	case req.IntoPath != "":
		return engine.DestinationPath, req.IntoPath
	}
	return "", ""
}

// destination describes where the request restores, for logs.
func (req RestoreRequest) destination() string {
	if kind, v := req.override(); kind != "" {
		return string(kind) + " " + v
	}
	return "own"
}

// checkRequest refuses what is wrong with the request on its own, and a
// destination the named target's engine does not take, before the manifest
// is read.
func (r *Runner) checkRequest(req RestoreRequest) error {
	if req.IntoDatabase != "" && req.IntoPath != "" {
		return fmt.Errorf("%w: --into-database and --into-path exclude each other", ErrRequest)
	}
	if req.Target == "" {
		return nil
	}
	t, ok := r.cfg.Target(req.Target)
	if !ok {
		return fmt.Errorf("%w: target %q is not in %s", ErrRequest, req.Target, r.cfg.Path)
	}
	eng, err := r.opts.Engine(t.Spec)
	if err != nil {
		return fmt.Errorf("target %q: %w", req.Target, err)
	}
	return checkDestination(eng, req.Target, req)
}

// CheckRestore reports, without reading any object or touching any
// database, whether req can be served from backup m with this config. Its
// errors wrap ErrRequest when the request itself is wrong.
func (r *Runner) CheckRestore(m *manifest.Manifest, req RestoreRequest) error {
	if err := r.checkRequest(req); err != nil {
		return err
	}
	_, err := r.restorePlan(m, req)
	return err
}

// checkDestination refuses an override of a kind eng does not take, and
// Kubernetes options for a target of another engine.
func checkDestination(eng engine.Engine, target string, req RestoreRequest) error {
	// A dry run must never restore another target for real.
	if k := req.Kubernetes; k != nil && (req.Target != "" || k.DryRun) && eng.Name() != "kubernetes" {
		return fmt.Errorf("%w: target %q is a %s target: Kubernetes restore options (namespace mapping, filters, existing resources, dry run) apply to kubernetes targets only",
			ErrRequest, target, eng.Name())
	}
	kind, _ := req.override()
	if kind == "" || engine.Accepts(eng, kind) {
		return nil
	}
	takes := "no destination override: it restores into its own place"
	if ds := eng.Destinations(); len(ds) > 0 {
		takes = fmt.Sprintf("only --into-%s", ds[0])
	}
	return fmt.Errorf("%w: target %q is a %s target, which takes %s, not --into-%s", ErrRequest, target, eng.Name(), takes, kind)
}
