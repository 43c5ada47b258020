package runnerapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
)

// maxBodyBytes bounds request bodies; the largest legitimate one, a
// RestoreRequest, is a few hundred bytes.
const maxBodyBytes = 1 << 20

// errEmptyBody marks a request without a body (or only white space).
var errEmptyBody = errors.New("body is empty")

// writeJSON writes v with status. An encoding failure can only be logged: the
// status line is already sent.
func writeJSON(w http.ResponseWriter, log *slog.Logger, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Warn("writing API response", "err", err)
	}
}

// writeError writes {"error": msg}.
func writeError(w http.ResponseWriter, log *slog.Logger, status int, msg string) {
	writeJSON(w, log, status, errorBody{Error: msg})
}

// writeErrorAs writes msg with the status of kind, one of the API's
// sentinel errors.
func writeErrorAs(w http.ResponseWriter, log *slog.Logger, kind error, msg string) {
	writeError(w, log, statusOf(kind), msg)
}

// writeServiceError answers err with its status (statusErrors). Errors of
// unknown kind are logged in full and answered with a generic 500: they may
// name hosts or buckets, and the controller needs no more than "it failed".
func writeServiceError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := statusOf(err)
	if status == 0 {
		log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, log, http.StatusInternalServerError, "internal error")
		return
	}
	writeError(w, log, status, err.Error())
}

// decodeJSON reads exactly one JSON value into v, refusing unknown fields,
// trailing data and bodies over maxBodyBytes. Its errors wrap ErrInvalid or
// ErrTooLarge.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err == nil {
			return fmt.Errorf("%w: body holds more than one JSON value", ErrInvalid)
		}
		return bodyError(err)
	}
	return nil
}

// decodeOptionalJSON is decodeJSON for a body that may be left out: an
// empty body leaves v as it is.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if err := decodeJSON(w, r, v); !errors.Is(err, errEmptyBody) {
		return err
	}
	return nil
}

func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return fmt.Errorf("%w: limit is %d bytes", ErrTooLarge, tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %w", ErrInvalid, errEmptyBody)
	default:
		return fmt.Errorf("%w: body: %w", ErrInvalid, err)
	}
}
