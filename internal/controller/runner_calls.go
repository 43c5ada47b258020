package controller

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/coffer-dev/coffer/internal/runnerapi"
)

// RunnerURLFunc says where a definition's runner API is. In a cluster it is
// the runner's Service; tests that play kubelet point it at a local process.
type RunnerURLFunc func(operatorNamespace, definitionNamespace, definitionName string) string

// ServiceURL is the in-cluster address of a runner.
func ServiceURL(operatorNamespace, namespace, name string) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", RunnerName(namespace, name), operatorNamespace, RunnerPort)
}

// RunnerCalls is how reconcilers reach runners: the token comes from the
// rendered config Secret, the address from URL (ServiceURL when nil). The
// calls themselves, and what their errors mean, are runnerapi.Client's.
type RunnerCalls struct {
	Reader            client.Reader
	OperatorNamespace string
	URL               RunnerURLFunc
	// HTTP is the client for runner calls; nil means runnerapi's default.
	HTTP *http.Client
}

// forDefinition builds a client for a definition's runner, reading its token
// from the rendered config Secret.
func (c RunnerCalls) forDefinition(ctx context.Context, namespace, name string) (*runnerapi.Client, error) {
	urlOf := c.URL
	if urlOf == nil {
		urlOf = ServiceURL
	}
	return c.client(ctx, namespace, name, urlOf(c.OperatorNamespace, namespace, name))
}

// forPod builds a client for the runner in pod, at the pod's own address:
// its Service sends nothing to a pod that is not ready, and only an unready
// runner is asked this way (why it is not ready). With URL set (tests) it
// is forDefinition.
func (c RunnerCalls) forPod(ctx context.Context, namespace, name string, pod *corev1.Pod) (*runnerapi.Client, error) {
	if c.URL != nil {
		return c.forDefinition(ctx, namespace, name)
	}
	if pod.Status.PodIP == "" {
		return nil, fmt.Errorf("runner pod %s/%s has no IP address yet", pod.Namespace, pod.Name)
	}
	return c.client(ctx, namespace, name, "http://"+net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(RunnerPort)))
}

func (c RunnerCalls) client(ctx context.Context, namespace, name, base string) (*runnerapi.Client, error) {
	sec := &corev1.Secret{}
	key := types.NamespacedName{Namespace: c.OperatorNamespace, Name: RunnerName(namespace, name)}
	if err := c.Reader.Get(ctx, key, sec); err != nil {
		return nil, fmt.Errorf("runner config %s: %w", key, err)
	}
	return runnerapi.NewClient(base, string(sec.Data[tokenKey]), c.HTTP), nil
}
