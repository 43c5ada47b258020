#!/usr/bin/env bash
# make e2e: the cluster suite (test/cluster) on a real single-node Kubernetes. Starts the local cluster
# (hack/cluster.sh; a leftover of a killed run is torn down first), builds and imports the images
# (hack/images.sh), runs `go test -tags cluster ./test/cluster`, and tears the cluster down whatever
# the result, so nothing is left running. Set COFFER_KEEP_CLUSTER=1 to keep it for debugging.
# `make test` runs it after the other tests. COFFER_SKIP_CLUSTER=1 skips it on a machine that cannot
# run a cluster (no root); under CI=true that is refused: a missing cluster piece is a failure.
# One run at a time: the whole run holds a lock (flock on /tmp/coffer-e2e.lock, or $COFFER_E2E_LOCK),
# so a second `make e2e` on the machine waits for the first instead of tearing its cluster down. The
# cluster's daemons do not inherit the lock: with COFFER_KEEP_CLUSTER=1 it is free when the run ends.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${COFFER_SKIP_CLUSTER:-}" = 1 ]; then
  if [ "${CI:-}" = true ]; then
    echo "e2e: COFFER_SKIP_CLUSTER=1 is refused when CI=true: the cluster suite must run" >&2
    exit 1
  fi
  echo "e2e: skipping the cluster suite (COFFER_SKIP_CLUSTER=1)" >&2
  exit 0
fi
lock=${COFFER_E2E_LOCK:-/tmp/coffer-e2e.lock}
if [ "${COFFER_E2E_LOCKED:-}" != "$lock" ]; then
  command -v flock >/dev/null 2>&1 || { echo "e2e: flock (util-linux) is needed for the run lock" >&2; exit 1; }
  flock -n "$lock" true || echo "e2e: another run holds $lock; waiting for it" >&2
  # -o: the lock is held by flock itself, not by the script's children (the cluster's daemons).
  COFFER_E2E_LOCKED=$lock exec flock -o "$lock" "$0" "$@"
fi
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
echo "e2e: suite passed after $((SECONDS - start))s" >&2
