package testutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/coffer-dev/coffer/api/v1alpha1"
)

// envtestAssetsScript builds kube-apiserver and etcd into bin/ (DESIGN.md §7).
const envtestAssetsScript = "hack/envtest-assets.sh"

// NewScheme knows the built-in Kubernetes kinds and Coffer's v1alpha1 kinds.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add client-go kinds: %w", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add coffer v1alpha1 kinds: %w", err)
	}
	return s, nil
}

// Envtest is a real kube-apiserver and etcd on loopback (controller-runtime's
// envtest) with Coffer's CRDs from config/crd/bases installed. There is no
// kubelet and no controller-manager: Pods never run, namespaces never finish
// terminating, garbage collection never happens.
type Envtest struct {
	// Config authenticates as a member of system:masters.
	Config *rest.Config
	// Client is a direct (uncached) client using Scheme.
	Client client.Client
	// Scheme is NewScheme's.
	Scheme *runtime.Scheme

	env *envtest.Environment
}

// StartEnvtest starts an API server private to t and stops it when t ends. It
// costs several seconds: a package with many tests should share one through
// EnvtestMain and SharedEnvtest. Binaries that cannot be built, or a server
// that does not start, are Unavailable.
func StartEnvtest(t testing.TB) *Envtest {
	t.Helper()
	NeedsServer(t, "kube-apiserver")
	e, err := startEnvtest()
	if err != nil {
		Unavailable(t, "kube-apiserver", err)
		return nil
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	return e
}

// Stop stops the API server and etcd and removes their data.
func (e *Envtest) Stop() error {
	if e == nil || e.env == nil {
		return nil
	}
	return e.env.Stop()
}

// CreateNamespace creates a namespace with a fresh name, so tests sharing
// one API server do not see each other's objects, and returns its name.
// Nothing deletes it: without a namespace controller deletion never ends.
func (e *Envtest) CreateNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Client.Create(ctx, ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// shared is the package's API server, one per test binary. It is package
// state because TestMain and the tests have nothing else in common.
var shared struct {
	mu      sync.Mutex
	inMain  bool // EnvtestMain is running the tests
	started bool
	env     *Envtest
	err     error
}

// EnvtestMain runs a package's tests and stops the API server that
// SharedEnvtest started for them, if any. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testutil.EnvtestMain(m) }
//
// The server starts at the first SharedEnvtest call, so `go test -run`
// of tests that need none does not pay for it.
//
// beforeStop runs after the tests and before the server stops: stop
// controllers there, or their open watches delay the server's shutdown.
func EnvtestMain(m *testing.M, beforeStop ...func()) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()
	for _, f := range beforeStop {
		f()
	}

	shared.mu.Lock()
	if shared.env != nil {
		if err := shared.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop envtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// SharedEnvtest returns the API server shared by the package's tests,
// starting it on first use. The package's TestMain must call EnvtestMain,
// which stops it. Tests should work in their own namespace
// (CreateNamespace). Failure to start is Unavailable for every caller.
func SharedEnvtest(t testing.TB) *Envtest {
	t.Helper()
	NeedsServer(t, "kube-apiserver")
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("SharedEnvtest needs TestMain to call testutil.EnvtestMain (it stops the server)")
	}
	if !shared.started {
		shared.started = true
		shared.env, shared.err = startEnvtest()
	}
	if shared.err != nil {
		Unavailable(t, "kube-apiserver", shared.err)
		return nil
	}
	return shared.env
}

func startEnvtest() (*Envtest, error) {
	assets, err := envtestAssets()
	if err != nil {
		return nil, err
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		// Two cores shared with builds: the default 20s is not always enough.
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop() // whatever part of the control plane did start
		return nil, fmt.Errorf("start envtest with binaries in %s: %w", assets, err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("client for envtest: %w", err)
	}
	return &Envtest{Config: cfg, Client: c, Scheme: scheme, env: env}, nil
}

// envtestAssets returns the directory holding kube-apiserver and etcd:
// $KUBEBUILDER_ASSETS when set (binaries from setup-envtest, say), else
// bin/, built by hack/envtest-assets.sh when missing.
func envtestAssets() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		for _, name := range []string{"kube-apiserver", "etcd"} {
			if !isExecutable(filepath.Join(dir, name)) {
				return "", fmt.Errorf("KUBEBUILDER_ASSETS=%s has no executable %s", dir, name)
			}
		}
		return dir, nil
	}
	bin := filepath.Join(RepoRoot(), "bin")
	if isExecutable(filepath.Join(bin, "kube-apiserver")) && isExecutable(filepath.Join(bin, "etcd")) {
		return bin, nil
	}
	// Building kube-apiserver takes minutes: more than go test's default
	// 10m timeout on a busy machine. `make test` builds it before go test.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(), envtestAssetsScript))
	cmd.Dir = RepoRoot()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", envtestAssetsScript, err, tail(stderr.String(), 2000))
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New(envtestAssetsScript + " printed no directory")
	}
	return dir, nil
}
