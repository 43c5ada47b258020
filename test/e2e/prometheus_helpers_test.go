package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/internal/testutil"
)

// prometheus is a real Prometheus server (Debian's prometheus package)
// scraping the given jobs every second and evaluating Coffer's rules.
type prometheus struct {
	url string
}

// startPrometheus runs prometheus with a job per entry of targets (job name
// → host:port list) and config/monitoring's rules, every `for` cut to 0s so
// an alert fires at the first evaluation its condition holds.
func startPrometheus(t *testing.T, targets map[string][]string) *prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		testutil.Unavailable(t, "prometheus", err)
	}
	dir := t.TempDir()
	rules, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "config", "monitoring", "prometheus", "coffer.rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rules = regexp.MustCompile(`(?m)^(\s+)for: \S+$`).ReplaceAll(rules, []byte("${1}for: 0s"))
	writeFile(t, filepath.Join(dir, "coffer.rules.yaml"), rules)
	var jobs []any
	for job, hosts := range targets {
		jobs = append(jobs, map[string]any{"job_name": job, "honor_labels": true, "static_configs": []any{map[string]any{"targets": hosts}}})
	}
	cfg, err := yaml.Marshal(map[string]any{
		"global":         map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files":     []string{filepath.Join(dir, "coffer.rules.yaml")},
		"scrape_configs": jobs,
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "prometheus.yml"), cfg)
	port, err := testutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		testutil.Unavailable(t, "prometheus", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus logs:\n%s", logs.String())
		}
	})
	p := &prometheus{url: "http://" + addr}
	testutil.Eventually(t, 60*time.Second, "prometheus ready", func() bool {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// apiGet decodes the data of a Prometheus HTTP API answer into into.
func (p *prometheus) apiGet(t *testing.T, path string, into any) {
	t.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if body.Status != "success" {
		t.Fatalf("GET %s: %s", path, body.Error)
	}
	if err := json.Unmarshal(body.Data, into); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// series counts the series an instant query returns with a number (not NaN).
func (p *prometheus) series(t *testing.T, expr string) int {
	t.Helper()
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	p.apiGet(t, "/api/v1/query?query="+url.QueryEscape(expr), &data)
	n := 0
	for _, r := range data.Result {
		if v, _ := r.Value[1].(string); v != "NaN" {
			n++
		}
	}
	return n
}

// firing lists the label sets of the firing alerts named name.
func (p *prometheus) firing(t *testing.T, name string) []map[string]string {
	t.Helper()
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	p.apiGet(t, "/api/v1/alerts", &data)
	var out []map[string]string
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == name && a.State == "firing" {
			out = append(out, a.Labels)
		}
	}
	return out
}
