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

	// AnnotationConfigHash on the runner pod template rolls the runner when
	// its rendered config changes.
	AnnotationConfigHash = "coffer.dev/config-hash"

	// Finalizer removes the runner objects when a definition is deleted.
	Finalizer = "coffer.dev/runner-cleanup"

	managerName = "coffer-controller"
)

// maxNameLength is the DNS label limit that Service names obey.
const maxNameLength = 63

// RunnerName is the name of a definition's rendered objects:
// runner-<namespace>-<name>, shortened with a hash when longer than 63.
func RunnerName(namespace, name string) string {
	full := "runner-" + namespace + "-" + name
	if len(full) <= maxNameLength {
		return full
	}
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	suffix := "-" + hex.EncodeToString(sum[:])[:10]
	return strings.TrimRight(full[:maxNameLength-len(suffix)], "-") + suffix
}

// runnerLabels select a definition's rendered objects and its runner pod.
func runnerLabels(namespace, name string) map[string]string {
	return map[string]string{
		LabelDefinitionNamespace: namespace,
		LabelDefinitionName:      name,
		LabelComponent:           "runner",
		LabelManagedBy:           managerName,
	}
}

// mirroredBackupName names the Backup object of a catalog backup.
func mirroredBackupName(definition, backupID string) string {
	name := definition + "-" + strings.ToLower(backupID)
	if len(name) <= 253 {
		return name
	}
	return name[:253]
}
