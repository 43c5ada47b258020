// Package all is the engine registry: the one place where engines are
// listed, each with everything the rest of Coffer asks of it — which target
// block selects it, the Secrets that block references, how the block is
// validated, whether its data is pushed into the runner, and how to build
// it with the services the process offers. Config validation, the
// controller's Secret resolution and the daemon iterate over it. There is
// no init() magic: an engine exists for Coffer when it has an entry here.
package all

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
	"github.com/coffer-dev/coffer/internal/engine/cockroach"
	"github.com/coffer-dev/coffer/internal/engine/etcd"
	"github.com/coffer-dev/coffer/internal/engine/filesystem"
	"github.com/coffer-dev/coffer/internal/engine/git"
	"github.com/coffer-dev/coffer/internal/engine/kubernetes"
	"github.com/coffer-dev/coffer/internal/engine/mysql"
	"github.com/coffer-dev/coffer/internal/engine/postgres"
	"github.com/coffer-dev/coffer/internal/engine/redis"
	"github.com/coffer-dev/coffer/internal/engine/volume"
	"github.com/coffer-dev/coffer/internal/pushendpoint"
)

// Entry describes one engine to the rest of Coffer.
type Entry struct {
	// Block is the key of the target block that selects the engine.
	Block string
	// Selects reports whether the target's block for this engine is set.
	Selects func(*v1alpha1.Target) bool
	// SecretRefs lists the block's Secret references.
	SecretRefs func(*v1alpha1.Target) []engine.SecretRef
	// Validate reports what is wrong with the block, Secrets aside.
	Validate func(*v1alpha1.Target, engine.Problems)
	// Push says whether the target's data is pushed into the runner's
	// HTTP endpoint; nil means never.
	Push func(*v1alpha1.Target) PushNeed
	// New builds the engine for a target with the process's services.
	New func(*v1alpha1.Target, Services) engine.Engine
	// InCluster, when set, fills what a target in a cluster may leave
	// out, given the runner's Service URL; the controller calls it when it
	// renders the runner's config.
	InCluster func(t *v1alpha1.Target, runnerURL string)
	// ValidateStorage, when set, reports what is wrong with the block
	// given the storage it writes to.
	ValidateStorage func(*v1alpha1.Target, *v1alpha1.BackupStorageSpec, engine.Problems)
	// Namespaced, when set, fills and checks a target of a definition
	// outside the operator namespace, whose runner may read the
	// definition's namespace only; an error refuses the definition.
	Namespaced func(t *v1alpha1.Target, namespace string) error
	// ReadsAPI, when set and true, says the runner reads the Kubernetes
	// API for the target: the controller gives the runner pod a read-only
	// identity (docs/operator.md). Otherwise it mounts no token at all.
	ReadsAPI func(*v1alpha1.Target) bool
	// RestoresThroughPod, when set and true, says a restore of the target
	// writes to the Kubernetes API with the runner pod's identity: the
	// controller grants it write rights while a Restore runs.
	RestoresThroughPod func(*v1alpha1.Target) bool
	// UseServer, set for engines restore tests can use (their engine
	// implements engine.Scratch), points the block at a restore test's
	// scratch server.
	UseServer func(t *v1alpha1.Target, s *v1alpha1.ScratchServer)
	// RestoreTest says how a restore test proves the engine's backups;
	// empty when it cannot.
	RestoreTest RestoreTestKind
}

// RestoreTestKind is how a restore test proves a target's backups.
type RestoreTestKind string

// Restore test kinds.
const (
	// RestoreTestDatabase restores into a scratch database and runs the
	// user's checks there (the engine implements engine.Scratch and the
	// entry sets UseServer).
	RestoreTestDatabase RestoreTestKind = "database"
	// RestoreTestDirectory restores into a scratch directory and compares
	// its counts with the manifest's (the engine implements
	// engine.Counting).
	RestoreTestDirectory RestoreTestKind = "directory"
	// RestoreTestDryRun restores as a server-side dry run and counts its
	// per-object results against the backup's index (the engine
	// implements engine.DryRunner).
	RestoreTestDryRun RestoreTestKind = "dry run"
)

// PushNeed says whether a target's data arrives through the runner's push
// endpoint, and how its sources find the runner.
type PushNeed struct {
	Needed bool
	// BaseURL is the runner's address as the target names it (cockroach's
	// endpointURL), used when the runner is told none.
	BaseURL string
	// ControllerPods: the controller starts pods (volume readers and
	// writers) that push and pull the data; they reach the runner at the
	// address it must be told (--advertise-url).
	ControllerPods bool
}

// Services are what a long-running runner offers engines whose data is
// pushed in. The zero value is what one-shot commands have.
type Services struct {
	Log     *slog.Logger
	Push    *pushendpoint.Endpoint
	Volumes *volume.Service
}

// Entries lists every engine, one entry each, in config order.
func Entries() []Entry {
	return []Entry{
		{Block: "postgres", Selects: func(t *v1alpha1.Target) bool { return t.Postgres != nil },
			SecretRefs: postgres.SecretRefs, Validate: postgres.Validate, New: always(postgres.New()), UseServer: postgres.UseServer,
			RestoreTest: RestoreTestDatabase},
		{Block: "mysql", Selects: func(t *v1alpha1.Target) bool { return t.MySQL != nil },
			SecretRefs: mysql.SecretRefs, Validate: mysql.Validate, New: always(mysql.New()), UseServer: mysql.UseServer,
			RestoreTest: RestoreTestDatabase},
		{Block: "cockroach", Selects: func(t *v1alpha1.Target) bool { return t.Cockroach != nil },
			SecretRefs: cockroach.SecretRefs, Validate: cockroach.Validate, Push: cockroachPush, New: newCockroach,
			InCluster: cockroachInCluster},
		{Block: "etcd", Selects: func(t *v1alpha1.Target) bool { return t.Etcd != nil },
			SecretRefs: etcd.SecretRefs, Validate: etcd.Validate, New: always(etcd.New())},
		{Block: "redis", Selects: func(t *v1alpha1.Target) bool { return t.Redis != nil },
			SecretRefs: redis.SecretRefs, Validate: redis.Validate, New: always(redis.New())},
		{Block: "filesystem", Selects: func(t *v1alpha1.Target) bool { return t.Filesystem != nil },
			SecretRefs: filesystem.SecretRefs, Validate: filesystem.Validate, Push: volumePush, New: newFilesystem,
			RestoreTest: RestoreTestDirectory},
		{Block: "git", Selects: func(t *v1alpha1.Target) bool { return t.Git != nil },
			SecretRefs: git.SecretRefs, Validate: git.Validate, New: always(git.New())},
		{Block: "kubernetes", Selects: func(t *v1alpha1.Target) bool { return t.Kubernetes != nil },
			SecretRefs: kubernetes.SecretRefs, Validate: kubernetes.Validate, ValidateStorage: kubernetes.ValidateStorage,
			Namespaced: kubernetes.Namespaced, ReadsAPI: func(*v1alpha1.Target) bool { return true }, RestoreTest: RestoreTestDryRun,
			RestoresThroughPod: func(t *v1alpha1.Target) bool { return t.Kubernetes.KubeconfigSecretRef == nil },
			New:                func(_ *v1alpha1.Target, s Services) engine.Engine { return kubernetes.New(s.Log) }},
	}
}

func always(e engine.Engine) func(*v1alpha1.Target, Services) engine.Engine {
	return func(*v1alpha1.Target, Services) engine.Engine { return e }
}

// cockroachPush: CockroachDB writes its BACKUP files over HTTP, to the
// runner's endpoint when the runner serves one.
func cockroachPush(t *v1alpha1.Target) PushNeed {
	return PushNeed{Needed: true, BaseURL: t.Cockroach.EndpointURL}
}

// cockroachInCluster: CockroachDB reaches the runner through its Service
// unless the target says otherwise.
func cockroachInCluster(t *v1alpha1.Target, runnerURL string) {
	if t.Cockroach.EndpointURL == "" {
		t.Cockroach.EndpointURL = runnerURL
	}
}

func newCockroach(_ *v1alpha1.Target, s Services) engine.Engine {
	if s.Push != nil {
		return &cockroach.Engine{Push: s.Push, Log: s.Log}
	}
	return cockroach.New()
}

// volumePush: a claim-backed filesystem target is read and written by pods
// the controller starts in the claim's namespace.
func volumePush(t *v1alpha1.Target) PushNeed {
	pvc := t.Filesystem.PersistentVolumeClaim != ""
	return PushNeed{Needed: pvc, ControllerPods: pvc}
}

func newFilesystem(t *v1alpha1.Target, s Services) engine.Engine {
	fs := &filesystem.Engine{Log: s.Log}
	if t.Filesystem != nil && t.Filesystem.PersistentVolumeClaim != "" && s.Volumes != nil {
		return s.Volumes.Engine(fs)
	}
	return fs
}

// NeedsControllerPods reports whether any target's data is pushed and
// pulled by pods the controller starts.
func NeedsControllerPods(targets []v1alpha1.Target) bool {
	for i := range targets {
		for _, e := range Selected(&targets[i]) {
			if e.Push != nil && e.Push(&targets[i]).ControllerPods {
				return true
			}
		}
	}
	return false
}

// Blocks are the names of every engine block, for messages.
func Blocks() []string {
	var out []string
	for _, e := range Entries() {
		out = append(out, e.Block)
	}
	return out
}

// Selected returns the entries whose block is set in t.
func Selected(t *v1alpha1.Target) []Entry {
	var out []Entry
	for _, e := range Entries() {
		if e.Selects(t) {
			out = append(out, e)
		}
	}
	return out
}

// ErrNoEngine is returned by For when a target has no engine block set.
var ErrNoEngine = errors.New("target has no engine block")

// ErrSeveralEngines is returned by For when a target has more than one
// engine block set.
var ErrSeveralEngines = errors.New("target has more than one engine block")

// For returns the engine whose block is set in t, as one-shot commands
// build it. Exactly one block must be set.
func For(t v1alpha1.Target) (engine.Engine, error) { return With(Services{})(t) }

// With returns a For that builds engines with the given services.
func With(s Services) func(v1alpha1.Target) (engine.Engine, error) {
	return func(t v1alpha1.Target) (engine.Engine, error) {
		found := Selected(&t)
		switch len(found) {
		case 0:
			return nil, fmt.Errorf("target %q: %w (set one of: %s)", t.Name, ErrNoEngine, strings.Join(Blocks(), ", "))
		case 1:
			return found[0].New(&t, s), nil
		default:
			names := make([]string, len(found))
			for i, e := range found {
				names[i] = e.Block
			}
			return nil, fmt.Errorf("target %q: %w (%s)", t.Name, ErrSeveralEngines, strings.Join(names, ", "))
		}
	}
}

// RestoreTestable returns the entry of t's engine when restore tests can
// use it (exactly one block set, and the entry names a restore test kind).
func RestoreTestable(t *v1alpha1.Target) (Entry, bool) {
	found := Selected(t)
	if len(found) != 1 || found[0].RestoreTest == "" {
		return Entry{}, false
	}
	return found[0], true
}

// Engines returns every registered engine, as one-shot commands build them.
func Engines() []engine.Engine {
	var out []engine.Engine
	for _, e := range Entries() {
		var t v1alpha1.Target
		out = append(out, e.New(&t, Services{}))
	}
	return out
}
