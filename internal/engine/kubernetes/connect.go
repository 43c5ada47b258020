package kubernetes

import (
	"errors"
	"fmt"
	"net/url"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/coffer-dev/coffer/internal/engine"
)

// Client rates: client-go's defaults (5/s, bursts of 10) would make a
// restore of thousands of objects take minutes of waiting on itself.
const (
	clientQPS   = 100
	clientBurst = 200
	userAgent   = "coffer-runner"
)

// inCluster names the runner's own cluster in the manifest.
const inCluster = "in-cluster"

// errUnsafeKubeconfig wraps a kubeconfig that would make the runner run a
// program or read a file: a tenant could point a token file at the
// runner's own config and send it to a server of theirs.
var errUnsafeKubeconfig = errors.New("kubeconfig refused")

// restConfig is how the target reaches its API server: the kubeconfig of
// kubeconfigSecretRef, or else the pod's ServiceAccount.
func (e *Engine) restConfig(t engine.Target) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	switch {
	case e.Config != nil:
		cfg, err = e.Config(t)
	case t.Spec.Kubernetes.KubeconfigSecretRef != nil:
		cfg, err = kubeconfig(t)
	default:
		cfg, err = rest.InClusterConfig()
		if err != nil {
			err = fmt.Errorf("no kubeconfigSecretRef, and not running in a pod: %w", err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.Name(), err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst, cfg.UserAgent = clientQPS, clientBurst, userAgent
	// Deprecation warnings would go to klog's stderr, bypassing the log.
	cfg.WarningHandler = rest.NoWarnings{}
	return cfg, nil
}

// loadKubeconfig reads the kubeconfig from the target's Secret and checks
// that it carries its credentials inline.
func loadKubeconfig(t engine.Target) (*clientcmdapi.Config, error) {
	raw, err := t.Secrets.Value(t.Spec.Kubernetes.KubeconfigSecretRef)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	kc, err := clientcmd.Load([]byte(raw))
	if err != nil {
		// The parser's message may quote the file: say only where it is.
		ref := t.Spec.Kubernetes.KubeconfigSecretRef
		return nil, fmt.Errorf("kubeconfig in Secret %q key %q does not parse", ref.Name, ref.Key)
	}
	ctx, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("kubeconfig: current context %q is not defined", kc.CurrentContext)
	}
	if err := checkInline(kc, ctx); err != nil {
		return nil, err
	}
	return kc, nil
}

func checkInline(kc *clientcmdapi.Config, ctx *clientcmdapi.Context) error {
	cluster, ok := kc.Clusters[ctx.Cluster]
	if !ok {
		return fmt.Errorf("kubeconfig: cluster %q is not defined", ctx.Cluster)
	}
	if cluster.CertificateAuthority != "" {
		return fmt.Errorf("%w: cluster %q names a certificate-authority file: use certificate-authority-data", errUnsafeKubeconfig, ctx.Cluster)
	}
	user, ok := kc.AuthInfos[ctx.AuthInfo]
	if !ok {
		return fmt.Errorf("kubeconfig: user %q is not defined", ctx.AuthInfo)
	}
	switch {
	case user.Exec != nil || user.AuthProvider != nil:
		return fmt.Errorf("%w: user %q runs a credential plugin: put a token or client certificate inline", errUnsafeKubeconfig, ctx.AuthInfo)
	case user.TokenFile != "" || user.ClientCertificate != "" || user.ClientKey != "":
		return fmt.Errorf("%w: user %q names a file: use token, client-certificate-data and client-key-data", errUnsafeKubeconfig, ctx.AuthInfo)
	}
	return nil
}

func kubeconfig(t engine.Target) (*rest.Config, error) {
	kc, err := loadKubeconfig(t)
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return cfg, nil
}

// server names the target's API server for the manifest: the kubeconfig's
// server URL without user information, or "in-cluster".
func server(t engine.Target) string {
	if t.Spec.Kubernetes.KubeconfigSecretRef == nil {
		return inCluster
	}
	kc, err := loadKubeconfig(t)
	if err != nil {
		return "kubeconfig " + t.Spec.Kubernetes.KubeconfigSecretRef.Name
	}
	u, err := url.Parse(kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster].Server)
	if err != nil {
		return "kubeconfig " + t.Spec.Kubernetes.KubeconfigSecretRef.Name
	}
	u.User = nil
	return u.String()
}
