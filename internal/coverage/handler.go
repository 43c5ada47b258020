package coverage

import (
	"encoding/json"
	"net/http"
)

// HandlerPath is where the controller serves the report, on its metrics
// server.
const HandlerPath = "/coverage"

// Handler serves the store's report as JSON (docs/coverage.md). Query
// parameters narrow it: namespace=<name> and state=<state>, each
// repeatable; totals always count the whole cluster.
func Handler(s *Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		rep := filter(s.Snapshot(), set(q["namespace"]), set(q["state"]))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep) // the client went away
	})
}

func set(vals []string) map[string]bool {
	if len(vals) == 0 {
		return nil
	}
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}

// filter keeps the claims (and, by namespace, definitions) asked for.
func filter(rep Report, namespaces, states map[string]bool) Report {
	if namespaces == nil && states == nil {
		return rep
	}
	claims := rep.Claims[:0:0]
	for _, c := range rep.Claims {
		if (namespaces == nil || namespaces[c.Namespace]) && (states == nil || states[string(c.State)]) {
			claims = append(claims, c)
		}
	}
	defs := rep.Definitions[:0:0]
	for _, d := range rep.Definitions {
		if namespaces == nil || namespaces[d.Namespace] {
			defs = append(defs, d)
		}
	}
	rep.Claims, rep.Definitions = claims, defs
	return rep
}
