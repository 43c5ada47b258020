package coverage

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// published is a store holding two namespaces' reports.
func published(t *testing.T) *Store {
	t.Helper()
	s := NewStore()
	reachable := true
	shop := input([]Definition{def("files", func(d *Definition) { d.RunnerReachable = &reachable })},
		claim("data"), claim("cache", annotated(AnnotationBackup, "skip", AnnotationReason, "cache")))
	s.Put("shop", Compute(shop))
	denied := input([]Definition{def("files", func(d *Definition) { d.Namespace = "denied"; d.RunnerReachable = &reachable })},
		Claim{Namespace: "denied", Name: "data"})
	s.Put("denied", Compute(denied))
	return s
}

func TestStoreChanges(t *testing.T) {
	s := NewStore()
	in := input(nil, claim("data"), claim("logs"))
	ch := s.Put("shop", Compute(in))
	if len(ch) != 2 || ch[0].Was != "" || ch[0].Claim.State != Unprotected {
		t.Fatalf("first report: %+v", ch)
	}
	if ch := s.Put("shop", Compute(in)); len(ch) != 0 {
		t.Fatalf("same report again: %+v", ch)
	}
	in.Definitions = []Definition{def("files")}
	ch = s.Put("shop", Compute(in))
	if len(ch) != 1 || ch[0].Claim.Name != "data" || ch[0].Was != Unprotected || ch[0].Claim.State != Protected {
		t.Fatalf("after a definition: %+v", ch)
	}
	s.Put("shop", Report{})
	if got := s.Snapshot(); len(got.Claims) != 0 || got.Totals[Unprotected] != 0 {
		t.Fatalf("an empty report keeps %+v", got)
	}
}

// TestMetrics scrapes the exported series as Prometheus would.
func TestMetrics(t *testing.T) {
	m := NewMetrics(published(t))
	reg := prometheus.NewPedanticRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	m.Observe([]Change{{Claim: ClaimReport{State: Stale}}}, 3*time.Millisecond)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	body := get(t, srv.URL)
	for _, want := range []string{
		`coffer_pvc_coverage_state{namespace="shop",persistentvolumeclaim="data",state="protected"} 1`,
		`coffer_pvc_coverage_state{namespace="shop",persistentvolumeclaim="data",state="stale"} 0`,
		`coffer_pvc_coverage_state{namespace="shop",persistentvolumeclaim="cache",state="excluded"} 1`,
		`coffer_pvc_coverage_state{namespace="denied",persistentvolumeclaim="data",state="unprotected"} 1`,
		`coffer_coverage_pvcs{state="protected"} 1`,
		`coffer_coverage_pvcs{state="unprotected"} 1`,
		`coffer_definition_last_success_timestamp_seconds{definition="files",namespace="shop"} 1.7952552e+09`,
		`coffer_definition_next_run_timestamp_seconds{definition="files",namespace="shop"} 1.7952588e+09`,
		`coffer_definition_stale_timestamp_seconds{definition="files",namespace="shop"} 1.795266e+09`,
		`coffer_definition_stale{definition="files",namespace="shop"} 0`,
		`coffer_definition_failing{definition="files",namespace="shop"} 0`,
		`coffer_definition_protected_pvcs{definition="files",namespace="shop"} 1`,
		`coffer_definition_protected_pvcs{definition="files",namespace="denied"} 0`,
		`coffer_definition_runner_reachable{definition="files",namespace="shop"} 1`,
		`coffer_coverage_transitions_total{state="stale"} 1`,
		`coffer_coverage_transitions_total{state="protected"} 0`,
		`coffer_coverage_computation_duration_seconds_count 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(body, `coffer_definition_runner_reachable{definition="files",namespace="denied"}`) {
		t.Error("a definition that may not run has a runner_reachable series")
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler(published(t)))
	defer srv.Close()
	tests := map[string]struct {
		query  string
		claims []string
		defs   int
	}{
		"everything":       {query: "", claims: []string{"denied/data", "shop/cache", "shop/data"}, defs: 2},
		"one namespace":    {query: "?namespace=shop", claims: []string{"shop/cache", "shop/data"}, defs: 1},
		"one state":        {query: "?state=unprotected", claims: []string{"denied/data"}, defs: 2},
		"two states":       {query: "?state=excluded&state=protected", claims: []string{"shop/cache", "shop/data"}, defs: 2},
		"nothing matching": {query: "?namespace=none", claims: []string{}, defs: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var rep Report
			if err := json.Unmarshal([]byte(get(t, srv.URL+tc.query)), &rep); err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, c := range rep.Claims {
				got = append(got, c.Namespace+"/"+c.Name)
			}
			if !slices.Equal(got, tc.claims) || len(rep.Definitions) != tc.defs {
				t.Errorf("claims %v, %d definitions; want %v, %d", got, len(rep.Definitions), tc.claims, tc.defs)
			}
			if rep.Totals[Unprotected] != 1 || rep.Totals[Protected] != 1 || rep.Totals[Excluded] != 1 {
				t.Errorf("totals %v", rep.Totals)
			}
		})
	}
	resp, err := http.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s", resp.Status)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return string(b)
}

// TestMetricsRegisteredTwice: a second Metrics on the same registry (a
// second manager in one process) takes the series over.
func TestMetricsRegisteredTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := NewMetrics(NewStore()).Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := NewMetrics(published(t)).Register(reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "coffer_coverage_pvcs" && len(mf.GetMetric()) != len(States) {
			t.Errorf("coffer_coverage_pvcs has %d series", len(mf.GetMetric()))
		}
		if mf.GetName() == "coffer_pvc_coverage_state" && len(mf.GetMetric()) != 3*len(States) {
			t.Errorf("coffer_pvc_coverage_state has %d series, want those of the second store", len(mf.GetMetric()))
		}
	}
}
