#!/usr/bin/env bash
# Builds the binaries controller-runtime's envtest runs, kube-apiserver and etcd, into bin/ from the Go
# module proxy, once, and prints that directory (envtest's BinaryAssetsDirectory) on stdout.
#   kube-apiserver  a link to bin/kube, Kubernetes as one multi-call binary from hack/tools/kube
#                   (k8s.io/kubernetes v1.36.3; 5-10 minutes on 2 cores): the same build runs the
#                   local cluster (hack/cluster.sh), so the project pays for one Kubernetes build
#   etcd            from hack/tools/etcd (the same build internal/testutil's etcd tests use)
# Binaries already present are reused. Test packages run as parallel processes, so each build holds a
# lock (bin/.kube.lock, bin/.etcd.lock: the latter shared with internal/testutil/etcd.go) and moves the
# finished binary into place, so nobody ever runs a half-written file.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/bin"
mkdir -p "$bin"
export GOFLAGS=-buildvcs=false GOWORK=off

# build <lock file> <output binary> <module dir> <package> [ldflags]
build() {
  local lock=$1 out=$2 dir=$3 pkg=$4 ldflags=${5:-}
  [ -x "$out" ] && return 0
  (
    flock 9
    [ -x "$out" ] && exit 0 # built by another process while we waited
    tmp=$(mktemp -d "$bin/.build-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    echo "building $(basename "$out") from $dir into bin/ (once)" >&2
    start=$SECONDS
    (cd "$dir" && go build -ldflags "$ldflags" -o "$tmp/$(basename "$out")" "$pkg")
    mv -f "$tmp/$(basename "$out")" "$out"
    echo "built $(basename "$out") in $((SECONDS - start))s" >&2
  ) 9>"$lock"
}

build "$bin/.etcd.lock" "$bin/etcd" hack/tools/etcd .
# A release build stamps its version; without it the server reports v0.0.0-master to clients.
kube_ldflags() {
  local v major minor
  v=$(cd hack/tools/kube && go list -m -f '{{.Version}}' k8s.io/kubernetes) # v1.36.3
  IFS=. read -r major minor _ <<<"${v#v}"
  local pkg=k8s.io/component-base/version
  echo "-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
}
CGO_ENABLED=0 build "$bin/.kube.lock" "$bin/kube" hack/tools/kube ./cmd/kube "$(kube_ldflags)"
# A kube-apiserver of its own (an older checkout's) is replaced by the link.
[ "$(readlink "$bin/kube-apiserver" 2>/dev/null)" = kube ] || ln -sfn kube "$bin/kube-apiserver"
echo "$bin"
