// Package controller is coffer-controller's reconcilers. For every
// BackupDefinition it renders, in the operator namespace, a config Secret, a
// one-replica StatefulSet running coffer-runner, and a Service, all named
// runner-<namespace>-<name>. It mirrors the runner's catalog as Backup
// objects and forwards on-demand Backups and Restores to the runner's API.
// Reconcilers are thin: the runner does the work.
package controller

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/naming"
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
	LabelDefinition = v1alpha1.LabelDefinition

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

// RunnerName is the name of a definition's rendered objects (naming.RunnerName).
func RunnerName(namespace, name string) string { return naming.RunnerName(namespace, name) }

// LabelValue is s as a label value, at most 63 characters (naming.LabelValue).
func LabelValue(s string) string { return naming.LabelValue(s) }

// maxNameLength is the DNS label limit that pod hostnames and Service names obey.
const maxNameLength = 63

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
	return naming.Shorten(definition, definition, 253-len(id)-1) + "-" + id
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
