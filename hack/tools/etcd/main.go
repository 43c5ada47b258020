// Command etcd is the etcd server, built from the etcd Go modules at pinned
// versions so that tests can run a real etcd without a system package. The
// same module pins etcdutl (a go.mod tool), the offline tool that restores a
// snapshot into a data directory: tests restore Coffer's snapshots with it,
// exactly as docs/engines.md tells users to.
//
//	go build -o bin/etcd .
//	go build -o bin/etcdutl go.etcd.io/etcd/etcdutl/v3
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
