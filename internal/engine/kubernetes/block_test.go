package kubernetes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

func TestNamespaced(t *testing.T) {
	cases := map[string]struct {
		spec    v1alpha1.KubernetesTarget
		wantNS  []string
		wantErr string
	}{
		"empty becomes own":   {spec: v1alpha1.KubernetesTarget{}, wantNS: []string{"shop"}},
		"own kept":            {spec: v1alpha1.KubernetesTarget{IncludedNamespaces: []string{"shop"}}, wantNS: []string{"shop"}},
		"another refused":     {spec: v1alpha1.KubernetesTarget{IncludedNamespaces: []string{"shop", "bank"}}, wantErr: `"bank"`},
		"glob refused":        {spec: v1alpha1.KubernetesTarget{IncludedNamespaces: []string{"*"}}, wantErr: `"*"`},
		"cluster refused":     {spec: v1alpha1.KubernetesTarget{IncludeClusterResources: true}, wantErr: "includeClusterResources"},
		"kubeconfig refused":  {spec: v1alpha1.KubernetesTarget{KubeconfigSecretRef: &v1alpha1.SecretKeySelector{Name: "k", Key: "c"}}, wantErr: "kubeconfigSecretRef"},
		"excluded namespaces": {spec: v1alpha1.KubernetesTarget{ExcludedNamespaces: []string{"x"}}, wantNS: []string{"shop"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tg := &v1alpha1.Target{Name: "k", Kubernetes: &tc.spec}
			err := Namespaced(tg, "shop")
			if tc.wantErr != "" {
				if !errors.Is(err, ErrNotOwnNamespace) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Namespaced: %v, want ErrNotOwnNamespace naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(tg.Kubernetes.IncludedNamespaces, tc.wantNS) {
				t.Fatalf("Namespaced: %v, namespaces %v, want %v", err, tg.Kubernetes.IncludedNamespaces, tc.wantNS)
			}
		})
	}
}

func TestFilterResource(t *testing.T) {
	deployments := Resource{Group: "apps", Version: "v1", Name: "deployments"}
	events := Resource{Version: "v1", Name: "events"}
	newEvents := Resource{Group: "events.k8s.io", Version: "v1", Name: "events"}
	certs := Resource{Group: "cert-manager.io", Version: "v1", Name: "certificates"}
	cases := map[string]struct {
		f    filter
		r    Resource
		want bool
	}{
		"all":                          {filter{defaults: true}, deployments, true},
		"events left out":              {filter{defaults: true}, events, false},
		"events named":                 {filter{defaults: true, inRes: []string{"events"}}, events, true},
		"bare name in any group":       {filter{defaults: true, inRes: []string{"events"}}, newEvents, true},
		"events by glob still out":     {filter{defaults: true, inRes: []string{"*"}}, events, false},
		"restore puts back":            {filter{}, events, true},
		"group glob":                   {filter{defaults: true, inRes: []string{"*.cert-manager.io"}}, certs, true},
		"group glob other":             {filter{defaults: true, inRes: []string{"*.cert-manager.io"}}, deployments, false},
		"dotted name needs full match": {filter{defaults: true, inRes: []string{"deployments.extensions"}}, deployments, false},
		"excluded wins":                {filter{defaults: true, inRes: []string{"*"}, exRes: []string{"deployments"}}, deployments, false},
	}
	for name, tc := range cases {
		if got, why := tc.f.resource(tc.r); got != tc.want {
			t.Errorf("%s: resource(%s) = %v (%s), want %v", name, tc.r, got, why, tc.want)
		}
	}
}

// TestKubeconfigRefused: a kubeconfig that would run a program or read a
// file is refused before anything connects, and the error quotes nothing
// of the Secret's content.
func TestKubeconfigRefused(t *testing.T) {
	const base = `apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://k.example:6443"%s}}]
users: [{name: u, user: {%s}}]
`
	cases := map[string]struct{ cluster, user, want string }{
		"exec plugin":   {user: `exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, id]}`, want: "credential plugin"},
		"token file":    {user: `tokenFile: /etc/coffer/config.yaml`, want: "names a file"},
		"client cert":   {user: `client-certificate: /etc/coffer/config.yaml, client-key: /k`, want: "names a file"},
		"ca file":       {cluster: `, certificate-authority: /etc/coffer/config.yaml`, user: `token: s3cr3t-token`, want: "certificate-authority file"},
		"auth provider": {user: `auth-provider: {name: oidc}`, want: "credential plugin"},
		"not yaml":      {user: `token: s3cr3t-token]]`, want: "does not parse"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tg := engine.Target{Spec: v1alpha1.Target{Name: "k", Kubernetes: &v1alpha1.KubernetesTarget{
				KubeconfigSecretRef: &v1alpha1.SecretKeySelector{Name: "kube", Key: "config"}}},
				Secrets: engine.Secrets{"kube": {"config": []byte(fmt.Sprintf(base, tc.cluster, tc.user))}}}
			_, err := (&Engine{}).restConfig(tg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restConfig: %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("the error quotes the Secret: %v", err)
			}
		})
	}
}
