package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Covers names the PersistentVolumeClaims, in the definition's namespace,
// whose data a target backs up without reading the volume itself: the
// volume of the database a postgres target dumps, say. The coverage report
// counts such a claim as protected by the definition. A filesystem target's
// persistentVolumeClaim is covered without being listed here.
type Covers struct {
	// PersistentVolumeClaims by name.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	PersistentVolumeClaims []string `json:"persistentVolumeClaims,omitempty"`
	// Selector picks claims by their labels (e.g. those of a StatefulSet's
	// volumeClaimTemplates). An empty selector selects every claim of the
	// namespace.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// CoverageSettings tune how the coverage report judges a definition.
type CoverageSettings struct {
	// StaleAfter is how old the newest Completed backup (its start) may get
	// before the claims the definition covers are reported stale. Default:
	// the time to the schedule's second run after that backup, plus
	// spec.runner.drainTimeout: one missed run is tolerated, two are not.
	// For a regular schedule that is 2 × its interval + the drain timeout
	// (2h + 1h for "0 * * * *"). A definition without a schedule needs it.
	// +optional
	StaleAfter *metav1.Duration `json:"staleAfter,omitempty"`
}

// DefinitionCoverage is what the coverage report says about a definition.
type DefinitionCoverage struct {
	// CoveredPVCs counts the claims the definition backs up or covers.
	CoveredPVCs int32 `json:"coveredPVCs"`
	// ProtectedPVCs counts those the definition protects: its newest
	// Completed backup is recent enough, it is not suspended, and its last
	// backup did not fail.
	ProtectedPVCs int32 `json:"protectedPVCs"`
}
