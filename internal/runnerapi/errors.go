package runnerapi

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors of the API, shared by both sides: a Service returns them (wrapped
// or not) to choose the HTTP status, and the Client returns an error
// wrapping the same sentinel for that status, so callers on either side
// decide with errors.Is.
var (
	// ErrInvalid: the request cannot be carried out as asked (400).
	ErrInvalid = errors.New("invalid request")
	// ErrUnauthorized: the bearer token is missing or wrong (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotFound: no backup or restore has that id, or no such path (404).
	ErrNotFound = errors.New("not found")
	// ErrMethodNotAllowed: the path is served, not with that method (405).
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrBusy: a backup or restore is already running (409).
	ErrBusy = errors.New("a backup or restore is already running")
	// ErrTooLarge: the request body is over the limit (413).
	ErrTooLarge = errors.New("request body too large")
	// ErrNotReady: the runner cannot serve backups yet (503, /readyz).
	ErrNotReady = errors.New("not ready")
)

// statusError is one row of the table both directions read.
type statusError struct {
	err    error
	status int
	// says is how a client error of this status begins; empty for the
	// generic "runner METHOD PATH: status: message".
	says string
}

// statusErrors is the one mapping between errors and HTTP statuses: the
// handler answers the status of the first row whose error a Service error
// wraps (500 for none), and the Client turns a status back into its row's
// error.
var statusErrors = []statusError{
	{err: ErrInvalid, status: http.StatusBadRequest, says: "the runner refused the request"},
	{err: ErrUnauthorized, status: http.StatusUnauthorized},
	{err: ErrNotFound, status: http.StatusNotFound, says: "the runner does not know it"},
	{err: ErrMethodNotAllowed, status: http.StatusMethodNotAllowed},
	{err: ErrBusy, status: http.StatusConflict, says: "the runner is busy with another backup or restore"},
	{err: ErrTooLarge, status: http.StatusRequestEntityTooLarge},
	{err: ErrNotReady, status: http.StatusServiceUnavailable},
}

// statusOf is the HTTP status of a Service error; 0 for an error of no
// known kind (an internal error).
func statusOf(err error) int {
	for _, row := range statusErrors {
		if errors.Is(err, row.err) {
			return row.status
		}
	}
	return 0
}

// ResponseError is an error answer of the API as the Client sees it. It
// wraps the sentinel of its status (ErrNotFound for 404, ...), or nothing
// for a status of no known kind (500).
type ResponseError struct {
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Message is the body's "error".
	Message string
	row     *statusError
}

func (e *ResponseError) Error() string {
	if e.row != nil && e.row.says != "" {
		return e.row.says + ": " + e.Message
	}
	return fmt.Sprintf("runner %s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Message)
}

// Unwrap returns the sentinel of the status, if any.
func (e *ResponseError) Unwrap() error {
	if e.row == nil {
		return nil
	}
	return e.row.err
}

// responseError is the Client's error for an answer of status.
func responseError(method, path string, status int, msg string) *ResponseError {
	e := &ResponseError{Method: method, Path: path, Status: status, Message: msg}
	if status == http.StatusNotFound && msg == "" {
		// The runner always says what it does not know. A bare 404 is
		// something else at the runner's address (a stale Service endpoint
		// after a roll): never evidence that a backup or restore is lost.
		e.Message = "a 404 without the runner's error body: not the runner"
		return e
	}
	for i := range statusErrors {
		if statusErrors[i].status == status {
			e.row = &statusErrors[i]
		}
	}
	return e
}
