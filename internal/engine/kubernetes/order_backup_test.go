package kubernetes

import (
	"archive/tar"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/api/v1alpha1"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// TestBackupOrder: the tar's entries follow the restore priority across
// resources and orderedResources within one (exact and ~ entries, across
// namespaces), the rest in the API server's order, the index last. Pages
// of two objects make every list continue.
func TestBackupOrder(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	a, b := env.CreateNamespace(t), env.CreateNamespace(t)
	pods := map[string][]string{a: {"web-1", "web-2", "web-10", "web-x", "db", "other"}, b: {"p-1", "p-3", "web-3"}}
	for ns, names := range pods {
		for _, name := range names {
			mustCreate(t, env.Client, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: podSpec()})
		}
		mustCreate(t, env.Client, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}})
	}
	spec := v1alpha1.KubernetesTarget{IncludedNamespaces: []string{a, b}, IncludedResources: []string{"pods", "configmaps", "namespaces"},
		OrderedResources: map[string]string{"pods": b + "/p-3,~" + a + `/web-[0-9]+,` + a + "/db,~" + b + "/nothing-.*"}}
	e := &Engine{PageSize: 2}
	names, idx := tarEntries(t, backupBytes(t, e, target(t, env, spec)))

	nsOrder := []string{a, b}
	sort.Strings(nsOrder)
	want := []string{"resources/namespaces/cluster/" + nsOrder[0] + ".json", "resources/namespaces/cluster/" + nsOrder[1] + ".json"}
	for _, ns := range nsOrder {
		want = append(want, "resources/configmaps/namespaces/"+ns+"/settings.json")
	}
	pod := func(ns, name string) string { return "resources/pods/namespaces/" + ns + "/" + name + ".json" }
	// Ordered: the exact entry, then what the regexp matches (in the API
	// server's order: names sort as strings), then the second exact entry.
	want = append(want, pod(b, "p-3"), pod(a, "web-1"), pod(a, "web-10"), pod(a, "web-2"), pod(a, "db"))
	rest := []string{pod(a, "other"), pod(a, "web-x"), pod(b, "p-1"), pod(b, "web-3")}
	sort.Strings(rest) // namespace, then name
	want = append(want, rest...)
	want = append(want, IndexName)
	if !slices.Equal(names, want) {
		t.Fatalf("tar entries:\n  %s\nwant:\n  %s", strings.Join(names, "\n  "), strings.Join(want, "\n  "))
	}
	var counts []string
	for _, r := range idx.Resources {
		counts = append(counts, r.Resource+"="+strconv.Itoa(r.Objects))
	}
	if got := strings.Join(counts, " "); got != "namespaces=2 configmaps=2 pods=9" {
		t.Errorf("index resources %s", got)
	}
}

// testTar writes hand-made backups.
type testTar struct{ tw *tar.Writer }

func newTestTar(w io.Writer) *testTar { return &testTar{tw: tar.NewWriter(w)} }

func (t *testTar) add(tb testing.TB, name, body string) {
	tb.Helper()
	if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
		tb.Fatal(err)
	}
	if _, err := t.tw.Write([]byte(body)); err != nil {
		tb.Fatal(err)
	}
}

func (t *testTar) close(tb testing.TB) {
	tb.Helper()
	if err := t.tw.Close(); err != nil {
		tb.Fatal(err)
	}
}

// TestLabelSelector: only the selected objects are backed up, and the
// namespace they are in, whatever its labels. (The exclusion must not match
// a generated name, test- and five of [b-z2-9]: "test-x*" did one time in 27.)
func TestLabelSelector(t *testing.T) {
	env := testutil.SharedEnvtest(t)
	ns := env.CreateNamespace(t)
	mustCreate(t, env.Client,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kept", Labels: map[string]string{"backup": "yes"}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "left"}})
	spec := v1alpha1.KubernetesTarget{IncludedNamespaces: []string{"test-*"}, ExcludedNamespaces: []string{"test-*-excluded"},
		IncludedResources: []string{"configmaps", "namespaces"},
		LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"backup": "yes"}}}
	names, idx := tarEntries(t, backupBytes(t, &Engine{}, target(t, env, spec)))
	if !slices.Contains(names, "resources/namespaces/cluster/"+ns+".json") || !slices.Contains(names, "resources/configmaps/namespaces/"+ns+"/kept.json") ||
		slices.Contains(names, "resources/configmaps/namespaces/"+ns+"/left.json") {
		t.Fatalf("tar entries %v\nindex %+v", names, idx)
	}
}
