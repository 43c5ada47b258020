#!/usr/bin/env bash
# Builds the coffer-controller and coffer-runner images without Docker or a registry, and imports them
# into the local cluster (hack/cluster.sh) when it runs. Prints nothing but progress on stderr.
#
#   bin/images/coffer-controller.tar   ghcr.io/coffer-dev/coffer-controller:$COFFER_IMAGE_TAG (default dev)
#   bin/images/coffer-runner.tar       ghcr.io/coffer-dev/coffer-runner:$COFFER_IMAGE_TAG
#
# What goes into each image comes from build/*.Dockerfile (internal/imagespec reads the final stage:
# user, workdir, entrypoint, cmd, exposed ports, and the apt packages): the Dockerfiles stay the way to
# build with Docker, and the two cannot drift apart. Differences, on purpose:
#   - the runner's root filesystem is Debian trixie made with mmdebstrap from the machine's Debian
#     mirror: trixie has postgresql-client-17 itself, where the Dockerfile adds the PostgreSQL
#     project's repository to bookworm. Cached in bin/images/ by package list.
#   - the controller's base is empty instead of distroless/static: the static binary, /etc/passwd with
#     nonroot (65532), /tmp and the CA bundle are all it uses.
# The tag is not `latest`, so pods use the imported image (imagePullPolicy IfNotPresent by default).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bin=$repo/bin
out=$bin/images
tag=${COFFER_IMAGE_TAG:-dev}
registry=ghcr.io/coffer-dev
suite=trixie
export GOFLAGS=-buildvcs=false GOWORK=off
mkdir -p "$out"
log() { echo "images: $*" >&2; }

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
if ! command -v mmdebstrap >/dev/null 2>&1; then
  log "installing mmdebstrap"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mmdebstrap >/dev/null
fi

if [ ! -x "$bin/coffer-image" ]; then
  log "building coffer-image (once)"
  (cd hack/tools/images && CGO_ENABLED=0 go build -trimpath -o "$bin/coffer-image" ./cmd/coffer-image)
fi

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
for c in coffer-controller coffer-runner; do
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out/$c" "./cmd/$c"
done

# The runner's root filesystem: the Dockerfile's packages, its user, nothing else; cached by content.
packages=$("$bin/coffer-image" -dockerfile build/coffer-runner.Dockerfile -print packages)
user=$("$bin/coffer-image" -dockerfile build/coffer-runner.Dockerfile -print user) # 65532:65532
workdir=$("$bin/coffer-image" -dockerfile build/coffer-runner.Dockerfile -print workdir)
uid=${user%%:*}
gid=${user##*:}
mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p; s/^deb \(http[^ ]*debian\) .*/\1/p' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
key=$(echo "$suite $packages $uid $gid $workdir v1" | sha256sum | cut -c1-12)
rootfs=$out/runner-rootfs-$key.tar
if [ ! -f "$rootfs" ]; then
  log "making the runner's root filesystem: Debian $suite with ${packages//$'\n'/ } (once)"
  start=$SECONDS
  # shellcheck disable=SC2086
  $SUDO mmdebstrap --quiet --variant=minbase --mode=root \
    --include="$(echo $packages | tr ' ' ,)" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="chroot \"\$1\" groupadd --system --gid $gid coffer" \
    --customize-hook="chroot \"\$1\" useradd --system --uid $uid --gid coffer --home-dir $workdir --create-home --shell /usr/sbin/nologin coffer" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    "$suite" "$out/.rootfs-$key.tmp.tar" "$mirror"
  $SUDO chown "$(id -u):$(id -g)" "$out/.rootfs-$key.tmp.tar"
  mv -f "$out/.rootfs-$key.tmp.tar" "$rootfs"
  log "root filesystem in $((SECONDS - start))s"
fi

"$bin/coffer-image" -dockerfile build/coffer-runner.Dockerfile -tag "$registry/coffer-runner:$tag" \
  -layer "$rootfs" -file "$out/coffer-runner:/usr/local/bin/coffer-runner:0755" -o "$out/coffer-runner.tar"

printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$out/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$out/group"
ca=/etc/ssl/certs/ca-certificates.crt
ca_args=()
[ -f "$ca" ] && ca_args=(-file "$ca:/etc/ssl/certs/ca-certificates.crt:0644")
"$bin/coffer-image" -dockerfile build/coffer-controller.Dockerfile -tag "$registry/coffer-controller:$tag" \
  -file "$out/coffer-controller:/coffer-controller:0755" -file "$out/passwd:/etc/passwd:0644" \
  -file "$out/group:/etc/group:0644" "${ca_args[@]}" -dir /tmp:1777 -dir /home/nonroot:0755:65532:65532 \
  -o "$out/coffer-controller.tar"
log "built $registry/coffer-controller:$tag and $registry/coffer-runner:$tag in bin/images/"

if hack/cluster.sh status 2>/dev/null; then
  for c in coffer-controller coffer-runner; do
    if ! msg=$($SUDO "$bin/ctr" --address /run/coffer-cluster/containerd/containerd.sock -n k8s.io images import "$out/$c.tar" 2>&1); then
      echo "$msg" >&2
      exit 1
    fi
  done
  log "imported into the local cluster"
else
  log "the local cluster is not running: not imported (make cluster, then make images)"
fi
