// Command coffer-controller runs Coffer's Kubernetes controllers: one runner
// (config Secret, StatefulSet, Service) per BackupDefinition, Backup objects
// mirrored from each runner's catalog, and on-demand Backups and Restores
// forwarded to the runners.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/controller"
)

// options are the controller's flags, parsed once.
type options struct {
	operatorNamespace string
	runnerImage       string
	pullSecrets       string
	metricsAddr       string
	probeAddr         string
	leaderElect       bool
	syncInterval      time.Duration
	logLevel          string
	runnerResources   string
}

func main() {
	var o options
	flag.StringVar(&o.operatorNamespace, "operator-namespace", "coffer-system", "namespace of BackupStorages and rendered runners")
	flag.StringVar(&o.runnerImage, "runner-image", "ghcr.io/coffer-dev/coffer-runner:latest", "default coffer-runner image")
	flag.StringVar(&o.pullSecrets, "image-pull-secrets", "", "comma-separated imagePullSecrets (in the operator namespace) for runner pods")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "metrics address")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "health probe address")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "enable leader election (for more than one replica)")
	flag.DurationVar(&o.syncInterval, "catalog-sync-interval", controller.DefaultSyncInterval, "how often each runner's catalog is mirrored as Backup objects")
	flag.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	flag.StringVar(&o.runnerResources, "runner-resources", "",
		`default resources of runner pods whose definition sets no spec.runner.resources, as JSON: {"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"memory":"256Mi"}} (empty: those)`)
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	resources, err := parseResources(o.runnerResources)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: o.probeAddr,
		LeaderElection:         o.leaderElect,
		LeaderElectionID:       "coffer-controller.coffer.dev",
		Cache:                  cacheOptions(o.operatorNamespace),
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	if err := controller.Setup(ctx, mgr, controller.Config{
		Settings: controller.Settings{OperatorNamespace: o.operatorNamespace, RunnerImage: o.runnerImage, ImagePullSecrets: splitList(o.pullSecrets),
			RunnerResources: resources},
		SyncInterval: o.syncInterval,
	}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	log.Info("starting coffer-controller", "operatorNamespace", o.operatorNamespace, "runnerImage", o.runnerImage)
	return mgr.Start(ctx)
}

// cacheOptions: StatefulSets and Services are only ever the rendered ones,
// so they are cached in the operator namespace alone.
func cacheOptions(operatorNamespace string) cache.Options {
	return controller.CacheOptions(operatorNamespace)
}

// parseResources reads --runner-resources: a ResourceRequirements as
// JSON, unknown fields refused so a typo ("request") is not a silent
// no-op.
func parseResources(s string) (corev1.ResourceRequirements, error) {
	var r corev1.ResourceRequirements
	if strings.TrimSpace(s) == "" {
		return r, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf(`--runner-resources: want JSON such as {"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"memory":"256Mi"}}: %w`, err)
	}
	for name, q := range r.Requests {
		if l, ok := r.Limits[name]; ok && q.Cmp(l) > 0 {
			return r, fmt.Errorf("--runner-resources: the %s request %s is above its limit %s", name, q.String(), l.String())
		}
	}
	return r, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
