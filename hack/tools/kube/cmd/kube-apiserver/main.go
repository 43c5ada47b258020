// Command kube-apiserver is the Kubernetes API server of k8s.io/kubernetes
// v1.36.3, built from the Go module proxy for controller-runtime's envtest
// (see hack/envtest-assets.sh). Unlike a release build it stops when the
// process that started it is gone.
package main

import (
	"fmt"
	"os"
	"time"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	go exitWithParent(os.Getppid())
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}

// exitWithParent ends the server once its parent has exited: a test binary
// that panics or is killed never runs envtest's Stop, and the orphaned server
// would otherwise keep running (and using CPU) until the machine reboots.
func exitWithParent(parent int) {
	if parent == 1 {
		return // started by init, e.g. as a container's entrypoint: nothing to follow
	}
	for range time.Tick(time.Second) {
		if os.Getppid() != parent {
			fmt.Fprintln(os.Stderr, "kube-apiserver: the process that started it has exited; stopping")
			os.Exit(1)
		}
	}
}
