// Package monitoring checks config/monitoring: every alert is unit-tested
// with promtool and has a runbook, the PrometheusRule holds exactly the
// rules file, the dashboard's first panel is the red/green table of PVCs,
// and every query of the rules and the dashboard parses and names only
// metrics Coffer exports.
package monitoring

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite prometheusrule.yaml from prometheus/coffer.rules.yaml")

func monitoringPath(parts ...string) string {
	return filepath.Join(append([]string{testutil.RepoRoot(), "config", "monitoring"}, parts...)...)
}

// promtool finds promtool (Debian's prometheus package; hack/deps.sh
// installs it). Skipped under -short; missing is a failure when CI=true.
func promtool(t *testing.T) string {
	t.Helper()
	testutil.NeedsServer(t, "promtool")
	p, err := exec.LookPath("promtool")
	if err != nil {
		testutil.Unavailable(t, "promtool", err)
	}
	return p
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
}

// TestAlertRules runs the rules' unit tests: each alert fires when its
// condition holds for its `for` and stays silent otherwise.
func TestAlertRules(t *testing.T) {
	runPromtool(t, "check", "rules", monitoringPath("prometheus", "coffer.rules.yaml"))
	runPromtool(t, "test", "rules", monitoringPath("prometheus", "coffer.rules_test.yaml"))
}

// rulesFile is the plain Prometheus rules file, as generic YAML.
type rulesFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Record      string            `json:"record"`
			Expr        string            `json:"expr"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

const ruleHeader = `# Generated from prometheus/coffer.rules.yaml by ` + "`go test ./test/monitoring -update`" + `: edit that file,
# not this one. Add the labels your Prometheus's ruleSelector wants (e.g. release: <name> for
# kube-prometheus-stack) with a kustomize overlay.
`

// TestPrometheusRuleMatchesRulesFile: the PrometheusRule and the plain file
// hold the same groups, so Operator and plain Prometheus users get the
// same alerts.
func TestPrometheusRuleMatchesRulesFile(t *testing.T) {
	var plain map[string]any
	readYAML(t, monitoringPath("prometheus", "coffer.rules.yaml"), &plain)
	want := map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
		"metadata": map[string]any{"name": "coffer", "labels": map[string]any{
			"app.kubernetes.io/name": "coffer", "app.kubernetes.io/component": "controller"}},
		"spec": plain,
	}
	path := monitoringPath("prometheusrule.yaml")
	if *update {
		b, err := yaml.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append([]byte(ruleHeader), b...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got map[string]any
	readYAML(t, path, &got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s differs from prometheus/coffer.rules.yaml: run go test ./test/monitoring -update", path)
	}
}
