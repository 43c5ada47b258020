package kubernetes

import (
	"errors"
	"fmt"
	"path"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/engine"
)

// SecretRefs are the Secret references of the target's kubernetes block.
func SecretRefs(t *v1alpha1.Target) []engine.SecretRef {
	return engine.SetRefs(engine.SecretRef{Field: "kubeconfigSecretRef", Ref: t.Kubernetes.KubeconfigSecretRef})
}

// Validate reports what is wrong with the target's kubernetes block.
func Validate(t *v1alpha1.Target, p engine.Problems) {
	s := t.Kubernetes
	checkPatterns(p, "includedNamespaces", s.IncludedNamespaces)
	checkPatterns(p, "excludedNamespaces", s.ExcludedNamespaces)
	checkPatterns(p, "includedResources", s.IncludedResources)
	checkPatterns(p, "excludedResources", s.ExcludedResources)
	if s.LabelSelector != nil {
		if _, err := metav1.LabelSelectorAsSelector(s.LabelSelector); err != nil {
			p.Add("labelSelector", "%v", err)
		}
	}
	if _, err := ParseOrder(s.OrderedResources); err != nil {
		for _, e := range unjoin(err) {
			p.Add("orderedResources", "%s", strings.TrimPrefix(e.Error(), ErrOrder.Error()+": "))
		}
	}
}

func checkPatterns(p engine.Problems, field string, patterns []string) {
	for i, pat := range patterns {
		if _, err := path.Match(pat, ""); err != nil || strings.TrimSpace(pat) == "" {
			p.Add(fmt.Sprintf("%s[%d]", field, i), "bad pattern %q", pat)
		}
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// ValidateStorage refuses a target that includes Secrets for a storage
// that does not encrypt, unless the target allows it: Secrets must not lie
// in a bucket in clear by accident.
func ValidateStorage(t *v1alpha1.Target, s *v1alpha1.BackupStorageSpec, p engine.Problems) {
	k := t.Kubernetes
	if s.Encryption != nil || k.AllowUnencryptedSecrets || !IncludesSecrets(k) {
		return
	}
	p.Add("", "the target includes Secrets and the storage has no encryption: "+
		"add spec.encryption to the storage, exclude secrets (excludedResources: [secrets]), or set allowUnencryptedSecrets")
}

// ErrNotOwnNamespace is returned by Namespaced for a target that reaches
// beyond the definition's namespace.
var ErrNotOwnNamespace = errors.New("a definition outside the operator namespace backs up its own namespace only")

// Namespaced fills and checks a target whose runner may read only the
// definition's namespace: empty includedNamespaces becomes that namespace;
// any other namespace, and cluster-scoped resources, are refused.
func Namespaced(t *v1alpha1.Target, namespace string) error {
	k := t.Kubernetes
	if k.IncludeClusterResources {
		return fmt.Errorf("%w: includeClusterResources is not allowed", ErrNotOwnNamespace)
	}
	for _, ns := range k.IncludedNamespaces {
		if ns != namespace {
			return fmt.Errorf("%w: includedNamespaces names %q (only %q may be given)", ErrNotOwnNamespace, ns, namespace)
		}
	}
	k.IncludedNamespaces = []string{namespace}
	if k.KubeconfigSecretRef != nil {
		return fmt.Errorf("%w: kubeconfigSecretRef is for standalone runners", ErrNotOwnNamespace)
	}
	return nil
}
