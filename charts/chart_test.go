// Package charts tests the Helm chart charts/coffer with the helm binary
// hack/deps.sh builds into bin/: it lints, renders the same objects as
// config/ (so the two never drift), and is accepted by a real API server.
package charts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/coffer-dev/coffer/internal/testutil"
)

func TestMain(m *testing.M) { testutil.EnvtestMain(m) }

// operatorNS is config/'s operator namespace: the chart is installed there.
const operatorNS = "coffer-system"

func chartDir() string { return filepath.Join(testutil.RepoRoot(), "charts", "coffer") }

// helm returns bin/helm; without it the test is skipped, and fails when
// CI=true (hack/deps.sh builds it).
func helm(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(testutil.RepoRoot(), "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("bin/helm is missing (CI=true): run hack/deps.sh test")
		}
		t.Skip("bin/helm is missing: hack/deps.sh test builds it")
	}
	return bin
}

func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helm(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// render runs helm template as `helm install coffer charts/coffer -n
// coffer-system` would render, with --set flags.
func render(t *testing.T, sets ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", "coffer", chartDir(), "--namespace", operatorNS}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

func decode(t *testing.T, manifests string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode rendered chart: %v", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// kustomize builds a directory under config/, as `kubectl apply -k` would.
func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(testutil.RepoRoot(), "config", dir))
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v", dir, err)
	}
	y, err := resMap.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(y))
}

// Labels and annotations only Helm adds.
var (
	helmLabels      = []string{"helm.sh/chart", "app.kubernetes.io/instance", "app.kubernetes.io/version"}
	helmAnnotations = []string{"helm.sh/resource-policy"}
)

// normalise drops what Helm adds, and round-trips through JSON so numbers
// compare equal whatever decoded them.
func normalise(t *testing.T, objs []*unstructured.Unstructured) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, u := range objs {
		u = u.DeepCopy()
		labels := u.GetLabels()
		for _, k := range helmLabels {
			delete(labels, k)
		}
		if labels["app.kubernetes.io/managed-by"] == "Helm" {
			delete(labels, "app.kubernetes.io/managed-by")
		}
		u.SetLabels(labels)
		ann := u.GetAnnotations()
		for _, k := range helmAnnotations {
			delete(ann, k)
		}
		u.SetAnnotations(ann)
		j, err := u.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(j, &m); err != nil {
			t.Fatal(err)
		}
		out[key(u)] = m
	}
	return out
}

func key(u *unstructured.Unstructured) string {
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

// sameObjects fails with every object that one side lacks or renders
// differently.
func sameObjects(t *testing.T, chart, config []*unstructured.Unstructured, configDir string) {
	t.Helper()
	got, want := normalise(t, chart), normalise(t, config)
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, inChart := got[k]
		w, inConfig := want[k]
		switch {
		case !inChart:
			t.Errorf("%s: in config/%s, not in the chart", k, configDir)
		case !inConfig:
			t.Errorf("%s: in the chart, not in config/%s", k, configDir)
		case !reflect.DeepEqual(g, w):
			gy, _ := yaml.Marshal(g)
			wy, _ := yaml.Marshal(w)
			t.Errorf("%s differs (copy files from config/ into charts/coffer/files, or port the change to templates/)\n--- config/%s\n%s--- chart\n%s", k, configDir, wy, gy)
		}
	}
}

func without(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() != kind {
			out = append(out, u)
		}
	}
	return out
}

func TestHelmLint(t *testing.T) {
	for _, sets := range [][]string{nil, {"namespace.create=true", "metrics.serviceMonitor.enabled=true", "metrics.podMonitor.enabled=true", "metrics.prometheusRule.enabled=true", "metrics.grafanaDashboard.enabled=true"}} {
		args := []string{"lint", "--strict", chartDir(), "--namespace", operatorNS}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		if out, err := runHelm(t, args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// With default values the chart is config/default, but for the Namespace:
// `helm install -n coffer-system --create-namespace` makes that one.
// namespace.create=true renders it too, with the same labels.
func TestChartRendersConfigDefault(t *testing.T) {
	config := kustomize(t, "default")
	sameObjects(t, render(t), without(config, "Namespace"), "default")
	sameObjects(t, render(t, "namespace.create=true"), config, "default")
}

func TestChartMonitoringRendersConfigMonitoring(t *testing.T) {
	all := render(t, "metrics.serviceMonitor.enabled=true", "metrics.podMonitor.enabled=true", "metrics.prometheusRule.enabled=true", "metrics.grafanaDashboard.enabled=true")
	var monitoring []*unstructured.Unstructured
	for _, u := range all {
		switch u.GetKind() {
		case "ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap":
			monitoring = append(monitoring, u)
		}
	}
	sameObjects(t, monitoring, kustomize(t, "monitoring"), "monitoring")
}

// The chart's files/ are copies of config/: the diff says which to copy.
func TestChartFilesAreCopiesOfConfig(t *testing.T) {
	root := testutil.RepoRoot()
	pairs := map[string]string{
		"config/monitoring/prometheus/coffer.rules.yaml": "charts/coffer/files/coffer.rules.yaml",
		"config/monitoring/grafana/coffer-coverage.json": "charts/coffer/files/coffer-coverage.json",
	}
	crds, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	for _, c := range crds {
		pairs["config/crd/bases/"+filepath.Base(c)] = "charts/coffer/files/crds/" + filepath.Base(c)
	}
	copies, _ := filepath.Glob(filepath.Join(root, "charts", "coffer", "files", "crds", "*.yaml"))
	if len(copies) != len(crds) {
		t.Errorf("charts/coffer/files/crds holds %d files, config/crd/bases %d: make them the same", len(copies), len(crds))
	}
	rbac, err := filepath.Glob(filepath.Join(root, "config", "rbac", "*.yaml"))
	if err != nil || len(rbac) == 0 {
		t.Fatalf("no RBAC in config/rbac: %v", err)
	}
	for _, r := range rbac {
		pairs["config/rbac/"+filepath.Base(r)] = "charts/coffer/files/rbac/" + filepath.Base(r)
	}
	if copies, _ := filepath.Glob(filepath.Join(root, "charts", "coffer", "files", "rbac", "*.yaml")); len(copies) != len(rbac) {
		t.Errorf("charts/coffer/files/rbac holds %d files, config/rbac %d: make them the same (make generate)", len(copies), len(rbac))
	}
	for src, dst := range pairs {
		a, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, dst))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s is not a copy of %s: cp %s %s", dst, src, src, dst)
		}
	}
}

// Values reach the objects they are for.
func TestChartValues(t *testing.T) {
	objs := render(t, "controller.image.tag=v1.2.3", "runner.image.tag=v1.2.3", "imagePullSecrets={regcred}",
		"runner.imagePullSecrets={a,b}", "controller.catalogSyncInterval=10s", "controller.logLevel=debug",
		"runner.resources.requests.cpu=250m", "runner.resources.limits.memory=2Gi",
		"crds.keep=false", "admission.localPaths=false", "crds.install=false")
	var dep *unstructured.Unstructured
	for _, u := range objs {
		switch u.GetKind() {
		case "CustomResourceDefinition", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			t.Errorf("%s rendered although switched off", key(u))
		case "Deployment":
			dep = u
		}
	}
	if dep == nil {
		t.Fatal("no Deployment rendered")
	}
	y, _ := yaml.Marshal(dep.Object)
	for _, want := range []string{"image: ghcr.io/coffer-dev/coffer-controller:v1.2.3", "--runner-image=ghcr.io/coffer-dev/coffer-runner:v1.2.3",
		"- name: regcred", "--image-pull-secrets=a,b", "--catalog-sync-interval=10s", "--log-level=debug",
		`--runner-resources={"limits":{"memory":"2Gi"},"requests":{"cpu":"250m","memory":"64Mi"}}`} {
		if !strings.Contains(string(y), want) {
			t.Errorf("Deployment does not hold %q:\n%s", want, y)
		}
	}
	crds := 0
	for _, u := range render(t) {
		if u.GetKind() == "CustomResourceDefinition" {
			crds++
			if u.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
				t.Errorf("%s lacks helm.sh/resource-policy: keep: helm uninstall would delete every Coffer object", key(u))
			}
		}
	}
	if crds != 4 {
		t.Errorf("the chart renders %d CRDs by default, want 4", crds)
	}
	for _, u := range render(t, "crds.keep=false") {
		if _, kept := u.GetAnnotations()["helm.sh/resource-policy"]; kept {
			t.Errorf("%s keeps helm.sh/resource-policy with crds.keep=false", key(u))
		}
	}
}

// values.schema.json refuses typos and wrong types before anything renders.
func TestChartSchemaRefusesBadValues(t *testing.T) {
	for set, says := range map[string]string{
		"controler.replicas=2":                "additional properties 'controler' not allowed",
		"controller.replicas=two":             "/controller/replicas",
		"controller.logLevel=verbose":         "/controller/logLevel",
		"controller.catalogSyncInterval=10x":  "/controller/catalogSyncInterval",
		"runner.imagePullSecrets={Bad_Name}":  "/runner/imagePullSecrets/0",
		"runner.resources.request.cpu=1":      "additional properties 'request' not allowed",
		"runner.resources.limits.memory=lots": "/runner/resources/limits/memory",
	} {
		_, err := runHelm(t, "template", "coffer", chartDir(), "--set", set)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("--set %s: %v, want an error naming %q", set, err, says)
		}
	}
}

// The rendered chart, applied with server-side dry-run, is accepted by a
// real API server: schemas, CRDs and admission objects included.
func TestChartAppliesWithServerSideDryRun(t *testing.T) {
	e := testutil.SharedEnvtest(t)
	ctx := t.Context()
	// Namespaced objects need their namespace for real; dry-run creates nothing.
	if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNS}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	objs := render(t, "namespace.create=true", "imagePullSecrets={regcred}", "runner.imagePullSecrets={regcred}")
	if len(objs) < 20 {
		t.Fatalf("the chart rendered %d objects", len(objs))
	}
	for _, u := range objs {
		err := e.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("helm"), client.ForceOwnership, client.DryRunAll)
		if err != nil {
			t.Errorf("server-side dry-run apply of %s: %v", key(u), err)
		}
	}
	// A dry run that accepts anything proves nothing: a broken object is refused.
	bad := render(t)[0].DeepCopy()
	bad.SetKind("Deployment")
	bad.SetAPIVersion("apps/v1")
	if err := e.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(bad), client.FieldOwner("helm"), client.DryRunAll); err == nil {
		t.Error("the API server accepted a Deployment without a spec in dry-run: the check above proves nothing")
	}
}
