package kubectlcoffer_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/kubectlcoffer"
	"github.com/coffer-dev/coffer/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the output")

func TestMain(m *testing.M) { testutil.EnvtestMain(m) }

// now is the plugin's clock in every test: ages in golden tables are
// relative to it.
var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

const operatorNS = kubectlcoffer.DefaultOperatorNamespace

type result struct {
	code        int
	out, errOut string
}

// plugin runs kubectl-coffer against e with namespace ns as default.
func plugin(t *testing.T, e *testutil.Envtest, ns string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return pluginCtx(ctx, e, ns, args...)
}

func pluginCtx(ctx context.Context, e *testutil.Envtest, ns string, args ...string) result {
	var out, errOut bytes.Buffer
	code := kubectlcoffer.Run(ctx, args, kubectlcoffer.Options{Out: &out, ErrOut: &errOut, RESTConfig: e.Config,
		Namespace: ns, Now: func() time.Time { return now }, Poll: 20 * time.Millisecond})
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.out, r.errOut)
	}
}

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (-update rewrites it)\n--- want\n%s--- got\n%s", path, want, got)
	}
}

// namespace creates (or reuses) a namespace with a fixed name, so golden
// outputs can show it.
func namespace(t *testing.T, e *testutil.Envtest, name string) string {
	t.Helper()
	err := e.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return name
}

func create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// setStatus writes obj's status through the status subresource, as the
// controller does.
func setStatus(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Status().Update(context.Background(), obj); err != nil {
		t.Fatalf("update status of %T %s: %v", obj, obj.GetName(), err)
	}
}

func mt(d time.Duration) *metav1.Time {
	t := metav1.NewTime(now.Add(d))
	return &t
}

func definition(ns, name string) *v1alpha1.BackupDefinition {
	return &v1alpha1.BackupDefinition{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.BackupDefinitionSpec{StorageRef: v1alpha1.LocalObjectReference{Name: "main"}, Schedule: "0 * * * *",
			Targets: []v1alpha1.Target{
				{Name: "main", Postgres: &v1alpha1.PostgresTarget{Host: "db", Database: "shop", User: "postgres"}},
				{Name: "cache", Redis: &v1alpha1.RedisTarget{Host: "redis"}},
			}},
	}
}

func contains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not say %q:\n%s", what, sub, s)
		}
	}
}
