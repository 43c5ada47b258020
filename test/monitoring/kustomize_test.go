package monitoring

import (
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/coffer-dev/coffer/internal/testutil"
)

func build(t *testing.T, dir string) resmap.ResMap {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(testutil.RepoRoot(), "config", dir))
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v", dir, err)
	}
	return m
}

// TestMonitoringBuilds: config/monitoring holds the scrape targets, the
// rules and the dashboard, and config/default none of them (a bare
// cluster lacks the Prometheus Operator's kinds).
func TestMonitoringBuilds(t *testing.T) {
	var got []string
	for _, r := range build(t, "monitoring").Resources() {
		got = append(got, r.GetKind()+"/"+r.GetName())
		if r.GetNamespace() != "coffer-system" {
			t.Errorf("%s/%s in namespace %q", r.GetKind(), r.GetName(), r.GetNamespace())
		}
		if r.GetKind() == "ConfigMap" && r.GetLabels()["grafana_dashboard"] != "1" {
			t.Errorf("dashboard ConfigMap %s lacks the label grafana_dashboard=1", r.GetName())
		}
	}
	slices.Sort(got)
	want := []string{"ConfigMap/coffer-grafana-dashboard", "PodMonitor/coffer-runners", "PrometheusRule/coffer", "ServiceMonitor/coffer-controller"}
	if !slices.Equal(got, want) {
		t.Errorf("config/monitoring builds %v, want %v", got, want)
	}
	for _, r := range build(t, "default").Resources() {
		if k := r.GetKind(); k == "PrometheusRule" || k == "PodMonitor" || k == "ServiceMonitor" {
			t.Errorf("config/default includes %s/%s", k, r.GetName())
		}
	}
}

// TestScrapeJobs: the jobs the alerts name are those the monitors and
// the plain scrape configuration set.
func TestScrapeJobs(t *testing.T) {
	var sc struct {
		ScrapeConfigs []struct {
			JobName     string `json:"job_name"`
			HonorLabels bool   `json:"honor_labels"`
		} `json:"scrape_configs"`
	}
	readYAML(t, monitoringPath("prometheus", "scrape-config.yaml"), &sc)
	var jobs []string
	for _, c := range sc.ScrapeConfigs {
		jobs = append(jobs, c.JobName)
		if !c.HonorLabels {
			t.Errorf("job %s without honor_labels: the namespace label would be the pod's", c.JobName)
		}
	}
	if !slices.Equal(jobs, []string{"coffer-controller", "coffer-runner"}) {
		t.Errorf("scrape-config.yaml jobs %v", jobs)
	}
	var scraped []string
	for _, r := range build(t, "monitoring").Resources() {
		field := map[string]string{"PodMonitor": "podMetricsEndpoints", "ServiceMonitor": "endpoints"}[r.GetKind()]
		if field == "" {
			continue
		}
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		eps, _ := m["spec"].(map[string]any)[field].([]any)
		for _, ep := range eps {
			e := ep.(map[string]any)
			rl := e["relabelings"].([]any)[0].(map[string]any)
			if e["honorLabels"] != true || rl["targetLabel"] != "job" || !slices.Contains(jobs, rl["replacement"].(string)) {
				t.Errorf("%s %s endpoint %v", r.GetKind(), r.GetName(), e)
			}
			scraped = append(scraped, rl["replacement"].(string))
		}
	}
	slices.Sort(scraped)
	if !slices.Equal(scraped, jobs) {
		t.Errorf("the monitors scrape the jobs %v, want each of %v once", scraped, jobs)
	}
}
