// Package all is the one place where engines are registered. There is no
// init() magic: an engine exists for Coffer when it has a line in
// registrations.
package all

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/cockroach"
	"github.com/coffer-dev/coffer/internal/engine/etcd"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
	"github.com/coffer-dev/coffer/internal/engine/git"
	"github.com/coffer-dev/coffer/internal/engine/mysql"
	"github.com/coffer-dev/coffer/internal/engine/postgres"
	"github.com/coffer-dev/coffer/internal/engine/redis"
)

// registration ties an engine to the target block that selects it.
type registration struct {
	engine engine.Engine
	// selects reports whether the target's block for this engine is set.
	selects func(v1alpha1.Target) bool
}

// registrations lists every engine, one line each, in config order.
func registrations() []registration {
	return []registration{
		{postgres.New(), func(t v1alpha1.Target) bool { return t.Postgres != nil }},
		{mysql.New(), func(t v1alpha1.Target) bool { return t.MySQL != nil }},
		{cockroach.New(), func(t v1alpha1.Target) bool { return t.Cockroach != nil }},
		{etcd.New(), func(t v1alpha1.Target) bool { return t.Etcd != nil }},
		{redis.New(), func(t v1alpha1.Target) bool { return t.Redis != nil }},
		{filesystem.New(), func(t v1alpha1.Target) bool { return t.Filesystem != nil }},
		{git.New(), func(t v1alpha1.Target) bool { return t.Git != nil }},
	}
}

// Engines returns every registered engine.
func Engines() []engine.Engine {
	regs := registrations()
	engines := make([]engine.Engine, 0, len(regs))
	for _, r := range regs {
		engines = append(engines, r.engine)
	}
	return engines
}

// ErrNoEngine is returned by For when a target has no engine block set.
var ErrNoEngine = errors.New("target has no engine block")

// ErrSeveralEngines is returned by For when a target has more than one
// engine block set.
var ErrSeveralEngines = errors.New("target has more than one engine block")

// For returns the engine whose block is set in t. Exactly one must be.
func For(t v1alpha1.Target) (engine.Engine, error) {
	var found []engine.Engine
	for _, r := range registrations() {
		if r.selects(t) {
			found = append(found, r.engine)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("target %q: %w (set one of: %s)", t.Name, ErrNoEngine, names(Engines()))
	case 1:
		return found[0], nil
	default:
		return nil, fmt.Errorf("target %q: %w (%s)", t.Name, ErrSeveralEngines, names(found))
	}
}

func names(engines []engine.Engine) string {
	n := make([]string, len(engines))
	for i, e := range engines {
		n[i] = e.Name()
	}
	return strings.Join(n, ", ")
}
