package runnerapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// readyTimeout bounds one readiness check, below the kubelet's default probe
// timeout so a hanging storage answers 503 rather than a probe timeout.
const readyTimeout = 5 * time.Second

// route is one method and path the API serves. The table in routes is the
// single source the mux is built from and docs/openapi.yaml is checked
// against.
type route struct {
	method string
	// path is a ServeMux path pattern; its {name} wildcards are written the
	// same way in OpenAPI.
	path string
	// public routes are served without the bearer token.
	public  bool
	handler http.Handler
}

// api holds the handlers' dependencies.
type api struct {
	svc Service
	log *slog.Logger
}

func (a *api) routes(metrics http.Handler) []route {
	return []route{
		{method: http.MethodGet, path: PathHealthz, public: true, handler: http.HandlerFunc(a.healthz)},
		{method: http.MethodGet, path: PathReadyz, public: true, handler: http.HandlerFunc(a.readyz)},
		{method: http.MethodGet, path: PathMetrics, public: true, handler: metrics},
		{method: http.MethodGet, path: "/v1/backups", handler: http.HandlerFunc(a.listBackups)},
		{method: http.MethodPost, path: "/v1/backups", handler: http.HandlerFunc(a.triggerBackup)},
		{method: http.MethodGet, path: "/v1/backups/{id}", handler: http.HandlerFunc(a.getBackup)},
		{method: http.MethodPut, path: "/v1/backups/{id}/labels/{label}", handler: a.setLabel(true)},
		{method: http.MethodDelete, path: "/v1/backups/{id}/labels/{label}", handler: a.setLabel(false)},
		{method: http.MethodPost, path: "/v1/restores", handler: http.HandlerFunc(a.startRestore)},
		{method: http.MethodGet, path: "/v1/restores/{id}", handler: http.HandlerFunc(a.getRestore)},
		{method: http.MethodGet, path: "/v1/volume-pushes", handler: http.HandlerFunc(a.listVolumePushes)},
		{method: http.MethodGet, path: "/v1/status", handler: http.HandlerFunc(a.getStatus)},
		{method: http.MethodGet, path: "/v1/readiness", handler: http.HandlerFunc(a.readiness)},
	}
}

// NewHandler serves the runner API over svc. /healthz, /readyz and /metrics
// are public; everything under /v1/ needs "Authorization: Bearer <token>".
// metrics may be nil (then /metrics is 404).
//
// An empty token (after trimming white space) does not open the API: every
// /v1 request is refused with 401, and the misconfiguration is logged once
// here. Probes and metrics keep working, so a runner with a broken config
// Secret still reports and is still scraped.
func NewHandler(svc Service, token string, metrics http.Handler, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &api{svc: svc, log: log}
	if metrics == nil {
		metrics = a.notFound("metrics are not enabled")
	}
	auth := newBearer(token, log)
	guard := func(public bool, h http.Handler) http.Handler {
		if public {
			return h
		}
		return auth.wrap(h)
	}

	mux := http.NewServeMux()
	methods := map[string][]string{}
	var paths []string
	public := map[string]bool{}
	for _, rt := range a.routes(metrics) {
		mux.Handle(rt.method+" "+rt.path, guard(rt.public, rt.handler))
		if _, seen := methods[rt.path]; !seen {
			paths = append(paths, rt.path)
			public[rt.path] = rt.public
		}
		methods[rt.path] = append(methods[rt.path], rt.method)
	}
	// A method-less pattern is less specific than the ones above, so it only
	// catches the methods they do not serve; ServeMux's own 405 is plain text.
	for _, p := range paths {
		mux.Handle(p, guard(public[p], a.methodNotAllowed(methods[p])))
	}
	mux.Handle("/v1/", auth.wrap(a.notFound("no such resource")))
	mux.Handle("/", a.notFound("no such resource"))
	return mux
}

func (a *api) notFound(msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeErrorAs(w, a.log, ErrNotFound, msg)
	})
}

func (a *api) methodNotAllowed(methods []string) http.Handler {
	allow := append([]string(nil), methods...)
	for _, m := range methods {
		if m == http.MethodGet { // GET patterns serve HEAD too
			allow = append(allow, http.MethodHead)
		}
	}
	header := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", header)
		writeErrorAs(w, a.log, ErrMethodNotAllowed, "method "+r.Method+" is not allowed; allowed: "+header)
	})
}

// statusBody answers the probes.
type statusBody struct {
	Status string `json:"status"`
}

func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, a.log, http.StatusOK, statusBody{Status: "ok"})
}

// readyz answers 503 with a generic message: the endpoint is public and the
// cause (a storage endpoint, a bucket) belongs in the log.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.svc.Ready(ctx); err != nil {
		a.log.Warn("not ready", "err", err)
		writeErrorAs(w, a.log, ErrNotReady, ErrNotReady.Error())
		return
	}
	writeJSON(w, a.log, http.StatusOK, statusBody{Status: "ok"})
}

func (a *api) listBackups(w http.ResponseWriter, r *http.Request) {
	items, err := a.svc.Backups(r.Context())
	if err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	if items == nil {
		items = []Backup{} // "items": [] rather than null
	}
	writeJSON(w, a.log, http.StatusOK, BackupList{Items: items})
}

func (a *api) getBackup(w http.ResponseWriter, r *http.Request) {
	b, err := a.svc.Backup(r.Context(), r.PathValue("id"))
	if err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	writeJSON(w, a.log, http.StatusOK, b)
}

func (a *api) triggerBackup(w http.ResponseWriter, r *http.Request) {
	var req BackupRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	if err := req.Validate(); err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	b, err := a.svc.TriggerBackup(r.Context(), req)
	if err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	a.log.Info("backup requested", "backup", b.ID, "pinned", req.Pinned, "requestKey", req.RequestKey, "remote", r.RemoteAddr)
	w.Header().Set("Location", "/v1/backups/"+b.ID)
	writeJSON(w, a.log, http.StatusAccepted, b)
}

// setLabel serves PUT (set) and DELETE of /v1/backups/{id}/labels/{label}.
// Both are idempotent and answer with the backup as it is now.
func (a *api) setLabel(set bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, label := r.PathValue("id"), r.PathValue("label")
		b, err := a.svc.SetLabel(r.Context(), id, label, set)
		if err != nil {
			writeServiceError(w, r, a.log, err)
			return
		}
		a.log.Info("label changed", "backup", b.ID, "label", label, "set", set, "remote", r.RemoteAddr)
		writeJSON(w, a.log, http.StatusOK, b)
	})
}

func (a *api) startRestore(w http.ResponseWriter, r *http.Request) {
	var req RestoreRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	if err := req.Validate(); err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	rs, err := a.svc.StartRestore(r.Context(), req)
	if err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	a.log.Info("restore requested", "restore", rs.ID, "backup", req.BackupID, "target", req.Target,
		"intoDatabase", req.IntoDatabase, "clean", req.Clean, "requestKey", req.RequestKey, "remote", r.RemoteAddr)
	w.Header().Set("Location", "/v1/restores/"+rs.ID)
	writeJSON(w, a.log, http.StatusAccepted, rs)
}

func (a *api) getRestore(w http.ResponseWriter, r *http.Request) {
	rs, err := a.svc.Restore(r.Context(), r.PathValue("id"))
	if err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	writeJSON(w, a.log, http.StatusOK, rs)
}

func (a *api) listVolumePushes(w http.ResponseWriter, r *http.Request) {
	items, err := a.svc.VolumePushes(r.Context())
	if err != nil {
		writeServiceError(w, r, a.log, err)
		return
	}
	if items == nil {
		items = []VolumePush{}
	}
	writeJSON(w, a.log, http.StatusOK, VolumePushList{Items: items})
}
