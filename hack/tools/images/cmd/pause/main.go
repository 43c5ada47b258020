// Command pause is the local cluster's pod sandbox ("pause") image: it holds
// a pod's namespaces and waits for SIGTERM or SIGINT. containerd's
// pinned_images.sandbox points at it (hack/cluster.sh), so no image is pulled.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	// As PID 1 of the sandbox it also reaps orphans; SIGCHLD is ignored by
	// default, so the kernel reaps them.
	<-sig
}
