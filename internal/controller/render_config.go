package controller

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/coffer-dev/coffer/internal/engine/all"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// configKey holds the runner config in the rendered Secret; tokenKey the
// API token again, for the controller's own calls. In the config the token
// is the Secret runnerapi.TokenSecret, as the runner reads it.
const (
	configKey = "config.yaml"
	tokenKey  = "api-token"
)

// Prefixes keep the Secrets of two namespaces apart in one config file.
const (
	definitionSecretPrefix = "def-"
	storageSecretPrefix    = "storage-"
)

// secretSource reads Secrets; the reconciler backs it with the API client.
type secretSource func(namespace, name string) (*corev1.Secret, error)

// errSecretMissing wraps every reference to a Secret or key that does not exist.
var errSecretMissing = errors.New("referenced Secret missing")

// renderConfig builds the runner's config file: the storage and the
// definition as a user would write them, with every referenced Secret copied
// in (only the referenced keys), renamed so the two namespaces cannot clash.
// The output is deterministic, so its hash changes only when an input does.
func renderConfig(def *v1alpha1.BackupDefinition, st *v1alpha1.BackupStorage, get secretSource, token string) ([]byte, error) {
	d := def.DeepCopy()
	s := st.DeepCopy()
	secrets := map[string]map[string][]byte{}
	var errs []error
	collect := func(prefix, namespace string, ref *v1alpha1.SecretKeySelector) {
		sec, err := get(namespace, ref.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("Secret %s/%s: %w", namespace, ref.Name, err))
			return
		}
		v, ok := sec.Data[ref.Key]
		if !ok {
			errs = append(errs, fmt.Errorf("%w: Secret %s/%s has no key %q", errSecretMissing, namespace, ref.Name, ref.Key))
			return
		}
		ref.Name = prefix + ref.Name
		if secrets[ref.Name] == nil {
			secrets[ref.Name] = map[string][]byte{}
		}
		secrets[ref.Name][ref.Key] = v
	}
	for _, ref := range definitionSecretRefs(&d.Spec) {
		collect(definitionSecretPrefix, def.Namespace, ref)
	}
	storageRefs := storageSecretRefs(&s.Spec)
	for _, ref := range storageRefs {
		collect(storageSecretPrefix, st.Namespace, ref)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, ref := range s3CredentialRefs(&s.Spec) {
		ref.Name = storageSecretPrefix + ref.Name
	}
	// What a target in a cluster may leave out (the registry says), and
	// what a runner bound in its definition's namespace only can serve.
	for i := range d.Spec.Targets {
		t := &d.Spec.Targets[i]
		for _, e := range all.Selected(t) {
			if e.InCluster != nil {
				e.InCluster(t, ServiceURL(st.Namespace, def.Namespace, def.Name))
			}
			if e.Namespaced != nil && def.Namespace != st.Namespace { // storages live in the operator namespace
				if err := e.Namespaced(t, def.Namespace); err != nil {
					return nil, fmt.Errorf("%w: target %q: %v", errTargetNotAllowed, t.Name, err)
				}
			}
		}
	}
	secrets[runnerapi.TokenSecret] = map[string][]byte{runnerapi.TokenKey: []byte(token)}
	return marshalConfig(d, s, secrets)
}

func marshalConfig(d *v1alpha1.BackupDefinition, s *v1alpha1.BackupStorage, secrets map[string]map[string][]byte) ([]byte, error) {
	d.Spec.Runner = nil // the pod's business, not the runner's
	s.Spec.AllowedNamespaces = nil
	docs := []any{
		&v1alpha1.BackupStorage{TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: "BackupStorage"},
			ObjectMeta: metav1.ObjectMeta{Name: s.Name}, Spec: s.Spec},
		&v1alpha1.BackupDefinition{TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: "BackupDefinition"},
			ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace}, Spec: d.Spec},
	}
	names := make([]string, 0, len(secrets))
	for n := range secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		docs = append(docs, &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: n}, Data: secrets[n]})
	}
	var buf bytes.Buffer
	for i, doc := range docs {
		b, err := yaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(stripEmptyStatus(b))
	}
	return buf.Bytes(), nil
}

// stripEmptyStatus drops the "status: {}" and "creationTimestamp: null" lines
// the API types marshal to: the runner's strict config loader accepts them,
// but they are noise in a file operators may read.
func stripEmptyStatus(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if bytes.Equal(t, []byte("status: {}")) || bytes.Equal(t, []byte("creationTimestamp: null")) {
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}

// configHash is the pod template annotation that rolls the runner.
func configHash(config []byte) string {
	sum := sha256.Sum256(config)
	return hex.EncodeToString(sum[:])[:16]
}

// definitionSecretRefs lists every Secret reference of a definition's
// targets, as the engine registry names them: pointers, so the renderer
// can rename them.
func definitionSecretRefs(spec *v1alpha1.BackupDefinitionSpec) []*v1alpha1.SecretKeySelector {
	var refs []*v1alpha1.SecretKeySelector
	for i := range spec.Targets {
		t := &spec.Targets[i]
		for _, e := range all.Selected(t) {
			for _, r := range e.SecretRefs(t) {
				refs = append(refs, r.Ref)
			}
		}
	}
	return append(refs, spec.RestoreTest.SecretRefs()...)
}

// storageSecretRefs lists the storage's Secret references. The S3
// credentials Secret has fixed keys, so it is listed once per key.
func storageSecretRefs(spec *v1alpha1.BackupStorageSpec) []*v1alpha1.SecretKeySelector {
	var refs []*v1alpha1.SecretKeySelector
	for _, c := range s3CredentialRefs(spec) {
		refs = append(refs,
			&v1alpha1.SecretKeySelector{Name: c.Name, Key: "accessKeyID"},
			&v1alpha1.SecretKeySelector{Name: c.Name, Key: "secretAccessKey"})
	}
	for _, a := range []*v1alpha1.AzureStorage{spec.Azure, offsiteAzure(spec)} {
		if a == nil {
			continue
		}
		for _, ref := range []*v1alpha1.SecretKeySelector{a.SharedKeySecretRef, a.SASTokenSecretRef} {
			if ref != nil {
				refs = append(refs, ref)
			}
		}
	}
	for _, g := range []*v1alpha1.GCSStorage{spec.GCS, offsiteGCS(spec)} {
		if g != nil && g.CredentialsSecretRef != nil {
			refs = append(refs, g.CredentialsSecretRef)
		}
	}
	if e := spec.Encryption; e != nil && e.IdentitySecretRef != nil {
		refs = append(refs, e.IdentitySecretRef)
	}
	if ch := spec.Chunked; ch != nil && ch.KeySecretRef != nil {
		refs = append(refs, ch.KeySecretRef)
	}
	return refs
}

// referencedSecretNames are the Secret names a definition reads from its own
// namespace, for the watch that re-renders on a Secret change.
func referencedSecretNames(def *v1alpha1.BackupDefinition) []string {
	d := def.DeepCopy()
	seen := map[string]bool{}
	var out []string
	for _, r := range definitionSecretRefs(&d.Spec) {
		if !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, r.Name)
		}
	}
	return out
}
