// Package naming is the one home of the names Coffer gives the Kubernetes
// objects it renders: runner-<namespace>-<name> within the limits a
// StatefulSet's pods impose, and label values within 63 characters. The
// controller renders with it and kubectl-coffer finds what was rendered with
// it; it imports nothing heavier than the standard library, so the plugin
// stays small.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxRunnerNameLength bounds the rendered objects' name. A StatefulSet's
// pods carry the label controller-revision-hash=<name>-<hash of about 10
// characters>, and their hostname and pod-name label are <name>-0: all must
// fit the 63 characters of a label value and a DNS label, so a StatefulSet
// over 52 characters can never create its pod.
const MaxRunnerNameLength = 52

// MaxLabelValueLength is the limit on a label value.
const MaxLabelValueLength = 63

// RunnerName is the name of a definition's rendered objects:
// runner-<namespace>-<name>, shortened with a hash when longer than 52.
// A definition name may hold dots, which Service names and hostnames may
// not: they become dashes, and the hash keeps "a.b" and "a-b" apart.
func RunnerName(namespace, name string) string {
	full := "runner-" + namespace + "-" + name
	if !strings.Contains(name, ".") {
		return Shorten(full, namespace+"/"+name, MaxRunnerNameLength)
	}
	return WithHash(strings.ReplaceAll(full, ".", "-"), namespace+"/"+name, MaxRunnerNameLength)
}

// LabelValue is s as a label value: itself when it fits 63 characters, else
// cut and ended with a hash of the whole, so distinct values stay distinct.
// Definition names can be 253 characters long.
func LabelValue(s string) string {
	return Shorten(s, s, MaxLabelValueLength)
}

// Shorten returns s when it fits max, else its start and a hash of key.
func Shorten(s, key string, max int) string {
	if len(s) <= max {
		return s
	}
	return WithHash(s, key, max)
}

// WithHash returns as much of s as fits max with a hash of key appended.
func WithHash(s, key string, max int) string {
	sum := sha256.Sum256([]byte(key))
	suffix := "-" + hex.EncodeToString(sum[:])[:10]
	if len(s) > max-len(suffix) {
		s = s[:max-len(suffix)]
	}
	return strings.TrimRight(s, "-.") + suffix
}

// MaxObjectNameLength is the limit on a Secret's name (a DNS subdomain).
const MaxObjectNameLength = 253

// DedupKeySecretName is the Secret the controller generates a storage's
// dedup key into when the storage writes format 2 without
// spec.chunked.keySecretRef: <storage>-dedup-key, in the storage's
// namespace, shortened with a hash for the longest storage names.
func DedupKeySecretName(storage string) string {
	return Shorten(storage+"-dedup-key", storage, MaxObjectNameLength)
}
