package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/internal/coverage"
	"github.com/coffer-dev/coffer/internal/metrics"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(monitoringPath("grafana", "coffer-coverage.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// query is one PromQL expression and where it comes from.
type query struct{ where, expr string }

// queries are every expression of the rules file and the dashboard, with
// Grafana's variables replaced by values Prometheus accepts.
func queries(t *testing.T) []query {
	t.Helper()
	var rules rulesFile
	readYAML(t, monitoringPath("prometheus", "coffer.rules.yaml"), &rules)
	var qs []query
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			qs = append(qs, query{"alert " + r.Alert, r.Expr})
		}
	}
	vars := strings.NewReplacer("$namespace", ".*", "$__rate_interval", "5m", "$__range", "1h", "$__interval", "1m")
	d := readDashboard(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, query{fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID), vars.Replace(tg.Expr)})
		}
	}
	return qs
}

// exported are the names of every series family Coffer exports: the
// controller's coverage metrics and a runner's (its proving metrics
// included), histograms expanded.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	store := coverage.NewStore()
	yes := true
	store.Put("shop", coverage.Compute(coverage.Input{Now: time.Now(), OperatorNamespace: "shop", Storages: map[string]coverage.Storage{"s": {}},
		Definitions: []coverage.Definition{{Namespace: "shop", Name: "db", Storage: "s", Schedule: "@daily", RunnerReachable: &yes}},
		Claims:      []coverage.Claim{{Namespace: "shop", Name: "data"}}}))
	if err := coverage.NewMetrics(store).Register(reg); err != nil {
		t.Fatal(err)
	}
	m := metrics.New(reg, "shop", "db")
	now := time.Now()
	m.BackupSucceeded("main", now.Add(-time.Minute), now, 10, 20)
	m.BackupFailed("main", now)
	m.BackupSetSucceeded(now.Add(-time.Minute), now)
	m.RetentionApplied(map[string]int{"daily": 1}, 0)
	m.RestoreFinished(false)
	metrics.NewProving(reg, "shop", "db", nil) // offsite copy, verification, restore tests
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"up": true}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[mf.GetName()+s] = true
			}
		}
	}
	return names
}

var metricName = regexp.MustCompile(`\b(coffer_[a-z0-9_]+|up)\b`)

// TestQueriesNameExportedMetrics: a renamed metric breaks this test, not
// an alert in production.
func TestQueriesNameExportedMetrics(t *testing.T) {
	names := exported(t)
	for _, q := range queries(t) {
		found := metricName.FindAllString(q.expr, -1)
		if len(found) == 0 {
			t.Errorf("%s: %q names no Coffer metric", q.where, q.expr)
		}
		for _, n := range found {
			if !names[n] {
				t.Errorf("%s: %q names %s, which Coffer does not export", q.where, q.expr, n)
			}
		}
	}
	for _, v := range readDashboard(t).Templating.List {
		for _, n := range metricName.FindAllString(v.Definition, -1) {
			if !names[n] {
				t.Errorf("variable %s names %s, which Coffer does not export", v.Name, n)
			}
		}
	}
}

// TestDashboardQueriesParse: every panel's expression parses, checked by
// promtool as recording rules (promtool query needs a server).
func TestDashboardQueriesParse(t *testing.T) {
	promtool(t) // skip early under -short
	var rules []map[string]string
	for i, q := range queries(t) {
		rules = append(rules, map[string]string{"record": fmt.Sprintf("coffer:check_%d", i), "expr": q.expr})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "queries.rules.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", path)
}

// TestDashboardFirstPanel: the first thing a user sees is the red/green
// table of every PVC by namespace.
func TestDashboardFirstPanel(t *testing.T) {
	d := readDashboard(t)
	if len(d.Panels) < 5 {
		t.Fatalf("%d panels", len(d.Panels))
	}
	first := d.Panels[0]
	if first.Type != "table" || !strings.Contains(first.Title, "PVC coverage") || len(first.Targets) != 1 ||
		!strings.Contains(first.Targets[0].Expr, "coffer_pvc_coverage_state") {
		t.Errorf("first panel is %s %q %+v, want the table of coffer_pvc_coverage_state", first.Type, first.Title, first.Targets)
	}
	b, _ := os.ReadFile(monitoringPath("grafana", "coffer-coverage.json"))
	for _, s := range coverage.States {
		if !strings.Contains(string(b), `"`+string(s)+`": {`) {
			t.Errorf("the dashboard maps no color to state %s", s)
		}
	}
}

// TestRunbooks: every alert links a section of docs/runbooks.md that exists.
func TestRunbooks(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			anchors[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), " ", "-"))] = true
		}
	}
	var rules rulesFile
	readYAML(t, monitoringPath("prometheus", "coffer.rules.yaml"), &rules)
	const base = "https://github.com/coffer-dev/coffer/blob/main/docs/runbooks.md#"
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], base)
			if !ok || !anchors[anchor] {
				t.Errorf("alert %s: runbook_url %q names no section of docs/runbooks.md", r.Alert, r.Annotations["runbook_url"])
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s needs a summary and a description", r.Alert)
			}
		}
	}
	for _, want := range []string{"CofferPVCUnprotected", "CofferBackupStale", "CofferBackupFailing", "CofferRunnerDown", "CofferRestoreFailing"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}

// TestMetricsDocumented: every metric Coffer exports has a row in docs/metrics.md.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range exported(t) {
		if !strings.HasPrefix(n, "coffer_") || strings.HasSuffix(n, "_bucket") || strings.HasSuffix(n, "_sum") || strings.HasSuffix(n, "_count") {
			continue
		}
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("%s is not documented in docs/metrics.md", n)
		}
	}
}
