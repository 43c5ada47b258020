package runnerapi

import (
	"context"
	"errors"
	"net/http"
)

// Readiness is the body of GET /v1/readiness: whether the runner is ready
// and, when it is not, why. /readyz answers the kubelet with a generic 503
// because it is public; this route needs the token, so it may name the
// storage and the lease's holder, and the controller puts it in the
// definition's Ready condition.
type Readiness struct {
	Ready bool `json:"ready"`
	// Reason is one of the Readiness* constants; absent when Ready.
	Reason string `json:"reason,omitempty"`
	// Message says what is wrong, for humans; absent when Ready.
	Message string `json:"message,omitempty"`
}

// Reasons of a Readiness that is not ready.
const (
	// ReadinessStorageUnreachable: the storage did not answer (the last
	// lease acquire or renewal, or the readiness listing, failed).
	ReadinessStorageUnreachable = "StorageUnreachable"
	// ReadinessLeaseHeld: another runner holds the definition's lease.
	ReadinessLeaseHeld = "LeaseHeld"
	// ReadinessLeaseNotHeld: this runner holds no lease for another
	// reason: starting, stopping, or it just lost it.
	ReadinessLeaseNotHeld = "LeaseNotHeld"
	// ReadinessNotReady: a cause the Service did not classify.
	ReadinessNotReady = "NotReady"
)

// NotReadyError is how a Service's Ready says why it is not ready: Reason
// is a Readiness* constant. It wraps ErrNotReady.
type NotReadyError struct {
	Reason  string
	Message string
}

func (e *NotReadyError) Error() string { return e.Message }

// Unwrap makes errors.Is(err, ErrNotReady) true.
func (e *NotReadyError) Unwrap() error { return ErrNotReady }

// ReadinessOf is the Readiness a Ready error (nil: ready) stands for.
func ReadinessOf(err error) Readiness {
	if err == nil {
		return Readiness{Ready: true}
	}
	var nr *NotReadyError
	if errors.As(err, &nr) {
		return Readiness{Reason: nr.Reason, Message: nr.Message}
	}
	return Readiness{Reason: ReadinessNotReady, Message: err.Error()}
}

// readiness serves GET /v1/readiness: 200 whether ready or not, since the
// call itself succeeded; the body says which.
func (a *api) readiness(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	writeJSON(w, a.log, http.StatusOK, ReadinessOf(a.svc.Ready(ctx)))
}

// Readiness asks the runner why it is or is not ready (GET /v1/readiness).
func (c *Client) Readiness(ctx context.Context) (Readiness, error) {
	var r Readiness
	err := c.do(ctx, http.MethodGet, "/v1/readiness", nil, &r)
	return r, err
}
