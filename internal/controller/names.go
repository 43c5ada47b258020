// Package controller is coffer-controller's reconcilers. For every
// BackupDefinition it renders, in the operator namespace, a config Secret, a
// one-replica StatefulSet running coffer-runner, and a Service, all named
// runner-<namespace>-<name>. It mirrors the runner's catalog as Backup
// objects and forwards on-demand Backups and Restores to the runner's API.
// Reconcilers are thin: the runner does the work.
package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels on every rendered object, so a change to one maps back to its
// definition (owner references cannot cross namespaces).
const (
	LabelDefinitionNamespace = "coffer.dev/definition-namespace"
	LabelDefinitionName      = "coffer.dev/definition-name"
	LabelComponent           = "app.kubernetes.io/component"
	LabelManagedBy           = "app.kubernetes.io/managed-by"
	// LabelMirrored marks Backups the controller created from the catalog.
	LabelMirrored = "coffer.dev/mirrored"
	// LabelDefinition on a Backup names its definition, for listing.
	LabelDefinition = "coffer.dev/definition"

	// AnnotationDefinition on every rendered object holds its definition as
	// <namespace>/<name>, in full: label values are cut at 63 characters.
	AnnotationDefinition = "coffer.dev/definition"

	// AnnotationConfigHash on the runner pod template rolls the runner when
	// its rendered config changes.
	AnnotationConfigHash = "coffer.dev/config-hash"

	// Finalizer removes the runner objects when a definition is deleted.
	Finalizer = "coffer.dev/runner-cleanup"

	managerName = "coffer-controller"
)

// maxRunnerNameLength bounds the rendered objects' name. A StatefulSet's
// pods carry the label controller-revision-hash=<name>-<hash of about 10
// characters>, and their hostname and pod-name label are <name>-0: all must
// fit the 63 characters of a label value and a DNS label, so a StatefulSet
// over 52 characters can never create its pod.
const maxRunnerNameLength = 52

// maxLabelValueLength is the limit on a label value.
const maxLabelValueLength = 63

// maxNameLength is the DNS label limit that pod hostnames and Service names obey.
const maxNameLength = 63

// RunnerName is the name of a definition's rendered objects:
// runner-<namespace>-<name>, shortened with a hash when longer than 52.
// A definition name may hold dots, which Service names and hostnames may
// not: they become dashes, and the hash keeps "a.b" and "a-b" apart.
func RunnerName(namespace, name string) string {
	full := "runner-" + namespace + "-" + name
	if !strings.Contains(name, ".") {
		return shorten(full, namespace+"/"+name, maxRunnerNameLength)
	}
	return withHash(strings.ReplaceAll(full, ".", "-"), namespace+"/"+name, maxRunnerNameLength)
}

// LabelValue is s as a label value: itself when it fits 63 characters, else
// cut and ended with a hash of the whole, so distinct values stay distinct.
// Definition names can be 253 characters long.
func LabelValue(s string) string {
	return shorten(s, s, maxLabelValueLength)
}

// shorten returns s when it fits max, else its start and a hash of key.
func shorten(s, key string, max int) string {
	if len(s) <= max {
		return s
	}
	return withHash(s, key, max)
}

// withHash returns as much of s as fits max with a hash of key appended.
func withHash(s, key string, max int) string {
	sum := sha256.Sum256([]byte(key))
	suffix := "-" + hex.EncodeToString(sum[:])[:10]
	if len(s) > max-len(suffix) {
		s = s[:max-len(suffix)]
	}
	return strings.TrimRight(s, "-.") + suffix
}

// runnerLabels select a definition's rendered objects and its runner pod.
func runnerLabels(namespace, name string) map[string]string {
	return map[string]string{
		LabelDefinitionNamespace: namespace,
		LabelDefinitionName:      LabelValue(name),
		LabelComponent:           "runner",
		LabelManagedBy:           managerName,
	}
}

// mirroredBackupName names the Backup object of a catalog backup:
// <definition>-<backup id>; for a definition name too long for that, its
// start and a hash of it, so the id is never cut and names never collide.
func mirroredBackupName(definition, backupID string) string {
	id := strings.ToLower(backupID)
	return shorten(definition, definition, 253-len(id)-1) + "-" + id
}

// definitionAnnotation records the full definition on a rendered object.
func definitionAnnotation(o metav1.Object, namespace, name string) {
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationDefinition] = namespace + "/" + name
	o.SetAnnotations(a)
}
