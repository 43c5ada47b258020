package controller

import (
	"context"
	"net/http"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/internal/scheduler"
)

// Config is what Setup needs besides the manager.
type Config struct {
	Settings
	// SyncInterval between catalog mirrors per definition.
	SyncInterval time.Duration
	// RunnerURL overrides where runners are reached (tests play kubelet).
	RunnerURL RunnerURLFunc
	// HTTP client for runner calls; nil means a default with timeouts.
	HTTP *http.Client
	// Clock is every reconciler's time source; nil means the real clock.
	Clock Clock
	// Coverage publishes the coverage report (coverage_setup.go).
	Coverage CoverageConfig
}

// Setup registers every reconciler with the manager. Secrets are read
// through the manager's API reader: the controller keeps no cache of
// Secret data, only a metadata watch.
func Setup(ctx context.Context, mgr ctrl.Manager, c Config) error {
	if c.Clock == nil {
		c.Clock = scheduler.RealClock{}
	}
	runners := RunnerCalls{Reader: mgr.GetAPIReader(), OperatorNamespace: c.OperatorNamespace, URL: c.RunnerURL, HTTP: c.HTTP}
	rec := mgr.GetEventRecorder(managerName)
	defs := &DefinitionReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Settings: c.Settings, Clock: c.Clock,
		Runners: runners, SyncInterval: c.SyncInterval, Events: rec}
	if err := defs.SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := (&StorageReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), OperatorNamespace: c.OperatorNamespace,
		Clock: c.Clock, Events: rec}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&BackupReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Runners: runners, Events: rec, Clock: c.Clock}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&RestoreReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Runners: runners, Events: rec, Clock: c.Clock,
		OperatorNamespace: c.OperatorNamespace}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.Add(restoreGrantSweep{client: mgr.GetClient(), reader: mgr.GetAPIReader()}); err != nil {
		return err
	}
	return setupCoverage(mgr, c)
}

// CacheOptions limits the cache of rendered kinds to the operator namespace.
func CacheOptions(operatorNamespace string) cache.Options {
	only := map[string]cache.Config{operatorNamespace: {}}
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&appsv1.StatefulSet{}: {Namespaces: only},
		&corev1.Service{}:     {Namespaces: only},
	}}
}
