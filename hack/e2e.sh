#!/usr/bin/env bash
# make e2e: the cluster suite (test/cluster) on a real single-node Kubernetes. Starts the local cluster
# (hack/cluster.sh; a leftover of a killed run is torn down first), builds and imports the images
# (hack/images.sh), runs `go test -tags cluster ./test/cluster`, and tears the cluster down whatever
# the result, so nothing is left running. Set COFFER_KEEP_CLUSTER=1 to keep it for debugging.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
teardown() {
  rc=$?
  if [ "${COFFER_KEEP_CLUSTER:-}" = 1 ]; then
    echo "e2e: keeping the cluster (COFFER_KEEP_CLUSTER=1); make cluster-down removes it" >&2
  else
    hack/cluster.sh down || rc=1
  fi
  echo "e2e: finished in $((SECONDS - start))s" >&2
  exit $rc
}
trap teardown EXIT
kubeconfig=$(hack/cluster.sh up)
echo "e2e: cluster up after $((SECONDS - start))s" >&2
hack/images.sh
echo "e2e: images imported after $((SECONDS - start))s" >&2
COFFER_KUBECONFIG=$kubeconfig go test -tags cluster -count=1 -timeout 30m -v ./test/cluster/
