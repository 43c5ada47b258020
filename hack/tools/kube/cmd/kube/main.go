// Command kube is Kubernetes v1.36.3 (k8s.io/kubernetes from the Go module
// proxy) as one multi-call binary: kube-apiserver, kube-controller-manager,
// kube-scheduler, kubelet, kube-proxy and kubectl. It dispatches on the name
// it was started as (bin/ holds a symlink per component) or, as
// `kube <component> ...`, on its first argument. One build serves envtest
// (kube-apiserver) and the local cluster (hack/cluster.sh): the project pays
// for one Kubernetes build, not two.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "time/tzdata" // CronJob time zones

	"github.com/spf13/cobra"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var components = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy":              proxy.NewProxyCommand,
}

func main() {
	name := filepath.Base(os.Args[0])
	if name == "kube" && len(os.Args) > 1 {
		name = os.Args[1]
		os.Args = os.Args[1:]
	}
	if name == "kubectl" {
		runKubectl()
		return
	}
	newCommand, ok := components[name]
	if !ok {
		names := make([]string, 0, len(components)+1)
		for n := range components {
			names = append(names, n)
		}
		fmt.Fprintf(os.Stderr, "kube: unknown component %q; run as one of: kubectl %s\n", name, strings.Join(names, " "))
		os.Exit(2)
	}
	if name == "kube-apiserver" && os.Getenv("KUBE_FOLLOW_PARENT") != "0" {
		go exitWithParent(os.Getppid())
	}
	os.Exit(cli.Run(newCommand()))
}

func runKubectl() {
	logs.GlogSetter(kubectl.GetLogVerbosity(os.Args)) //nolint:errcheck // as cmd/kubectl does
	if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
		kubectlutil.CheckErr(err)
	}
}

// exitWithParent ends the server once its parent has exited: a test binary
// that panics or is killed never runs envtest's Stop, and the orphaned server
// would otherwise keep running (and using CPU) until the machine reboots.
// The local cluster's apiserver, started in the background by a script that
// exits, opts out with KUBE_FOLLOW_PARENT=0.
func exitWithParent(parent int) {
	if parent == 1 {
		return
	}
	for range time.Tick(time.Second) {
		if os.Getppid() != parent {
			fmt.Fprintln(os.Stderr, "kube-apiserver: the process that started it has exited; stopping")
			os.Exit(1)
		}
	}
}
