package kubectlcoffer_test

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/internal/coverage"
	"github.com/coffer-dev/coffer/internal/kubectlcoffer"
	"github.com/coffer-dev/coffer/internal/testutil"
)

// serveCoverage serves the real coverage handler over a store holding
// report for its namespaces, and registers a ready controller pod whose IP
// and metrics port point at it: the plugin then reads it through the API
// server's pod proxy, as in a cluster. The API server refuses to proxy to
// loopback, so the server listens on the host's own address.
func serveCoverage(t *testing.T, e *testutil.Envtest, reports map[string]coverage.Report) {
	t.Helper()
	ip := hostIP(t)
	store := coverage.NewStore()
	for ns, r := range reports {
		store.Put(ns, r)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(coverage.HandlerPath, coverage.Handler(store))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := int32(ln.Addr().(*net.TCPAddr).Port)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, GenerateName: "coffer-controller-",
			Labels: map[string]string{"app.kubernetes.io/name": "coffer", "app.kubernetes.io/component": "controller"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "controller", Image: "coffer-controller:test",
			Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: port}}}}},
	}
	create(t, e.Client, pod)
	t.Cleanup(func() { _ = e.Client.Delete(t.Context(), pod) })
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	setStatus(t, e.Client, pod)
}

func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address: the API server proxies to no loopback pod IP")
	return ""
}

func timePtr(d time.Duration) *time.Time {
	t := now.Add(d)
	return &t
}

func coverageReports() map[string]coverage.Report {
	gen := now.Add(-5 * time.Second)
	return map[string]coverage.Report{
		nsA: {GeneratedAt: gen, Totals: map[coverage.State]int{coverage.Protected: 2, coverage.Unprotected: 1, coverage.Excluded: 1},
			Claims: []coverage.ClaimReport{
				{Namespace: nsA, Name: "data-shop-0", State: coverage.Protected, Reason: "definition shop backed it up 1h ago", Definitions: []string{"shop"}},
				{Namespace: nsA, Name: "data-shop-1", State: coverage.Protected, Reason: "definition shop backed it up 1h ago", Definitions: []string{"shop"}},
				{Namespace: nsA, Name: "scratch", State: coverage.Excluded, Reason: "coffer.dev/backup=skip: rebuilt from git"},
				{Namespace: nsA, Name: "uploads", State: coverage.Unprotected, Reason: "no definition covers it"},
			},
			Definitions: []coverage.DefinitionReport{{Namespace: nsA, Name: "shop", Protecting: true, Reason: "fresh",
				LastSuccess: timePtr(-time.Hour), NextRun: timePtr(time.Hour), CoveredPVCs: 2, ProtectedPVCs: 2}}},
		nsB: {GeneratedAt: gen, Totals: map[coverage.State]int{coverage.Stale: 1},
			Claims: []coverage.ClaimReport{{Namespace: nsB, Name: "data-shop-0", State: coverage.Stale, Reason: "newest backup is 3h old", Definitions: []string{"shop"}}},
			Definitions: []coverage.DefinitionReport{{Namespace: nsB, Name: "shop", Reason: "stale: no backup completed for 3h",
				LastSuccess: timePtr(-3 * time.Hour), Stale: true, CoveredPVCs: 1}}},
	}
}

func TestCoverageThroughThePodProxy(t *testing.T) {
	e := fixture(t)
	serveCoverage(t, e, coverageReports())
	r := plugin(t, e, nsA, "coverage")
	r.wantCode(t, kubectlcoffer.ExitOK)
	golden(t, "coverage", r.out)
	r = plugin(t, e, nsA, "coverage", "-A", "--state", "stale", "--state", "unprotected")
	r.wantCode(t, kubectlcoffer.ExitOK)
	golden(t, "coverage-all-unprotected-stale", r.out)
	r = plugin(t, e, nsA, "coverage", "-o", "json")
	r.wantCode(t, kubectlcoffer.ExitOK)
	var rep coverage.Report
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("coverage -o json: %v\n%s", err, r.out)
	}
	if len(rep.Claims) != 4 || rep.Totals[coverage.Stale] != 1 {
		t.Errorf("coverage -o json of %s: %d claims, totals %v; want its 4 claims and the cluster's totals", nsA, len(rep.Claims), rep.Totals)
	}
}

func TestCoverageWithoutAController(t *testing.T) {
	e := fixture(t)
	r := plugin(t, e, nsA, "coverage", "--operator-namespace", "nowhere")
	r.wantCode(t, kubectlcoffer.ExitNotFound)
	contains(t, "stderr", r.errOut, "no ready coffer-controller pod", "--operator-namespace")
}
