package kubectlcoffer_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/coffer-dev/coffer/internal/kubectlcoffer"
)

// The API server fetches a pod's logs from the kubelet of its node: the test
// plays that kubelet (HTTPS on the host's address, named by a Node object)
// and checks what the plugin asked for and printed.
func TestLogsThroughTheAPIServer(t *testing.T) {
	e := fixture(t)
	ip := hostIP(t)
	var mu sync.Mutex
	var asked []string
	kubelet := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		fmt.Fprintln(w, `{"level":"INFO","msg":"backup committed","id":"20261121T110000Z-aaaa"}`)
	}))
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	kubelet.Listener = ln
	kubelet.StartTLS()
	t.Cleanup(kubelet.Close)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "plugin-logs-node"}}
	create(t, e.Client, node)
	node.Status = corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(ln.Addr().(*net.TCPAddr).Port)}}}
	setStatus(t, e.Client, node)
	// shop's runner pod, on that node.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: "runner-plugin-b-shop-0"},
		Spec: corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "runner", Image: "coffer-runner:test"}}}}
	create(t, e.Client, pod)

	r := plugin(t, e, nsB, "logs", "shop", "--tail", "20", "--since", "1h")
	r.wantCode(t, kubectlcoffer.ExitOK)
	if r.out != `{"level":"INFO","msg":"backup committed","id":"20261121T110000Z-aaaa"}`+"\n" {
		t.Errorf("logs printed %q", r.out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 || !strings.HasPrefix(asked[0], "/containerLogs/coffer-system/runner-plugin-b-shop-0/runner?") ||
		!strings.Contains(asked[0], "tailLines=20") || !strings.Contains(asked[0], "sinceSeconds=3600") {
		t.Errorf("the kubelet was asked %q", asked)
	}
}
