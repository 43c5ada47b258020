package v1alpha1

// SecretKeySelector points at one key of a Secret in the referring object's
// namespace. Cross-namespace references are not allowed by design.
type SecretKeySelector struct {
	// Name of the Secret.
	Name string `json:"name"`
	// Key inside the Secret's data.
	Key string `json:"key"`
}

// LocalObjectReference names an object of a known kind.
type LocalObjectReference struct {
	Name string `json:"name"`
}

// SecretReference names a Secret whose keys are fixed by the referrer.
type SecretReference struct {
	Name string `json:"name"`
}
