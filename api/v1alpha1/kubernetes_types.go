package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KubernetesTarget is Kubernetes resources, read through the API server
// and stored as one tar of one JSON file per object (docs/format.md).
// Resources are named as in kubectl: "<resource>" for the core group and
// "<resource>.<group>" otherwise ("pods", "deployments.apps",
// "certificates.cert-manager.io"); a name without a dot matches the
// resource in every group. Patterns are globs (path.Match syntax).
type KubernetesTarget struct {
	// IncludedNamespaces are the namespaces to back up (globs); empty means
	// every namespace. In the operator, a definition outside the operator
	// namespace backs up its own namespace only: empty means that one.
	// +optional
	IncludedNamespaces []string `json:"includedNamespaces,omitempty"`
	// ExcludedNamespaces are left out even when included (globs).
	// +optional
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
	// IncludedResources are the resources to back up (globs); empty means
	// every resource the API server lists. Nodes, events, Coffer's Backups
	// and Restores, CSI nodes and volume attachments are left out unless
	// named here exactly (no glob).
	// +optional
	IncludedResources []string `json:"includedResources,omitempty"`
	// ExcludedResources are left out even when included (globs).
	// +optional
	ExcludedResources []string `json:"excludedResources,omitempty"`
	// LabelSelector keeps only the objects it selects; the Namespace
	// objects of the included namespaces are kept whatever their labels.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
	// IncludeClusterResources backs up cluster-scoped resources as well
	// (subject to the resource filters and the label selector), and the
	// CustomResourceDefinition of every included custom resource, whatever
	// the filters say, and the PersistentVolume of every backed-up claim.
	// Without it only the included namespaces themselves are backed up of
	// what is cluster-scoped.
	// +optional
	IncludeClusterResources bool `json:"includeClusterResources,omitempty"`
	// IncludeOwnedPods backs up pods that a controller owns (ReplicaSet,
	// StatefulSet, DaemonSet, Job): by default they are left out, since
	// their controller recreates them.
	// +optional
	IncludeOwnedPods bool `json:"includeOwnedPods,omitempty"`
	// OrderedResources orders the objects of a resource in the backup and
	// in the restore: a map from a resource ("pods") to a comma-separated
	// list of entries, each "namespace/name" (just "name" for a
	// cluster-scoped resource) or, starting with "~", a regular expression
	// matched against the whole "namespace/name". Objects that match come
	// first, in the order of the first entry they match; the rest follow in
	// the API server's order (namespace, then name).
	// +optional
	OrderedResources map[string]string `json:"orderedResources,omitempty"`
	// KubeconfigSecretRef points at a kubeconfig for a standalone runner.
	// Only inline credentials are accepted (no exec or auth-provider
	// plugins, no file paths). Without it the runner uses its pod's
	// ServiceAccount, which the operator binds read-only.
	// +optional
	KubeconfigSecretRef *SecretKeySelector `json:"kubeconfigSecretRef,omitempty"`
	// AllowUnencryptedSecrets lets a target that includes Secrets write
	// to a storage without encryption. Without it such a target is refused.
	// +optional
	AllowUnencryptedSecrets bool `json:"allowUnencryptedSecrets,omitempty"`
}

// KubernetesRestoreOptions change how a backup of Kubernetes resources is
// restored. Restores follow the backup's order: CustomResourceDefinitions
// (waited for until Established), namespaces, then a fixed priority list,
// with orderedResources applied within each resource.
type KubernetesRestoreOptions struct {
	// NamespaceMapping restores the objects of a namespace (key) into
	// another namespace (value).
	// +optional
	NamespaceMapping map[string]string `json:"namespaceMapping,omitempty"`
	// IncludedNamespaces restores only these namespaces of the backup
	// (globs, before mapping); empty means all.
	// +optional
	IncludedNamespaces []string `json:"includedNamespaces,omitempty"`
	// ExcludedNamespaces are not restored (globs, before mapping).
	// +optional
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
	// IncludedResources restores only these resources (globs); empty means all.
	// +optional
	IncludedResources []string `json:"includedResources,omitempty"`
	// ExcludedResources are not restored (globs).
	// +optional
	ExcludedResources []string `json:"excludedResources,omitempty"`
	// ExistingResources says what happens to an object that exists: skip
	// (the default) leaves it alone, update applies the backed-up object
	// over it (server-side apply).
	// +kubebuilder:validation:Enum=skip;update
	// +optional
	ExistingResources string `json:"existingResources,omitempty"`
	// DryRun sends every write as a server-side dry run and reports what
	// would change, changing nothing.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
}
