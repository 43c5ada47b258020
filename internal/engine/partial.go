package engine

// FailedItem is one item of a target a restore could not restore (an
// object of a Kubernetes backup), named as the engine names it.
type FailedItem struct {
	Target string `json:"target"`
	Item   string `json:"item"`
	Reason string `json:"reason,omitempty"`
}

// PartialFailure is the error of a target's restore that went on past
// items it could not restore. It wraps ErrPartiallyFailed.
type PartialFailure interface {
	error
	FailedItems() []FailedItem
}

// FailedItems collects, in order, the failed items of every
// PartialFailure in err's tree (errors.Join and %w both followed).
func FailedItems(err error) []FailedItem {
	if err == nil {
		return nil
	}
	if pf, ok := err.(PartialFailure); ok { //nolint:errorlint // the tree is walked below, one node at a time
		return pf.FailedItems()
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		var out []FailedItem
		for _, e := range u.Unwrap() {
			out = append(out, FailedItems(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		return FailedItems(u.Unwrap())
	}
	return nil
}
