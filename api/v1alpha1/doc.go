// Package v1alpha1 holds the coffer.dev/v1alpha1 API types. The runner's config
// file is made of these same objects, so the types carry no client logic: only
// fields, defaults and validation markers.
// +kubebuilder:object:generate=true
// +groupName=coffer.dev
package v1alpha1

// Group and version of every kind in this package.
const (
	Group   = "coffer.dev"
	Version = "v1alpha1"
)

// APIVersion is the apiVersion string objects of this package carry.
const APIVersion = Group + "/" + Version
