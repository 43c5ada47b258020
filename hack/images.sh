#!/usr/bin/env bash
# Builds the coffer-controller and coffer-runner images (and the cluster suite's database image)
# without Docker or a registry, and imports them into the local cluster (hack/cluster.sh) when it
# runs. Prints nothing but progress on stderr.
#
#   bin/images/coffer-controller.tar   ghcr.io/coffer-dev/coffer-controller:$COFFER_IMAGE_TAG (default dev)
#   bin/images/coffer-runner.tar       ghcr.io/coffer-dev/coffer-runner:$COFFER_IMAGE_TAG
#   bin/images/test-databases.tar      coffer.local/test-databases:dev (the cluster suite's PostgreSQL 17
#                                      and MariaDB pods; test/cluster/images/databases.Dockerfile)
#
# What goes into each image comes from build/*.Dockerfile (internal/imagespec reads the final stage:
# user, workdir, entrypoint, cmd, exposed ports, and the apt packages): the Dockerfiles stay the way to
# build with Docker, and the two cannot drift apart. Differences, on purpose:
#   - the runner's root filesystem is Debian trixie made with mmdebstrap from the machine's Debian
#     mirror: trixie has postgresql-client-17 itself, where the Dockerfile adds the PostgreSQL
#     project's repository to bookworm. Cached in bin/images/ by package list.
#   - the controller's base is empty instead of distroless/static: the static binary, /etc/passwd with
#     nonroot (65532), /tmp and the CA bundle are all it uses.
#   - the database image's root filesystem (trixie, like its Dockerfile) also loses the data
#     directories the packages make on installation: its entrypoint makes them in /data.
# The tag is not `latest`, so pods use the imported image (imagePullPolicy IfNotPresent by default).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bin=$repo/bin
out=$bin/images
tag=${COFFER_IMAGE_TAG:-dev}
registry=ghcr.io/coffer-dev
test_databases=coffer.local/test-databases:dev
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

# rootfs <name> <Dockerfile> <user name> [customize hook ...]: a root filesystem of the Dockerfile's
# packages and user (nothing else) on Debian $suite, cached in bin/images/ by content; prints its path.
rootfs() {
  local name=$1 dockerfile=$2 account=$3
  shift 3
  local packages user workdir uid gid key file start hooks=()
  packages=$("$bin/coffer-image" -dockerfile "$dockerfile" -print packages)
  user=$("$bin/coffer-image" -dockerfile "$dockerfile" -print user) # 65532:65532
  workdir=$("$bin/coffer-image" -dockerfile "$dockerfile" -print workdir)
  uid=${user%%:*}
  gid=${user##*:}
  # The runner's key is the one it had before other images shared this function: its cache stays.
  local what="$suite $packages $uid $gid $workdir v1"
  [ "$account" = coffer ] && [ $# = 0 ] || what="$what $account $*"
  key=$(echo "$what" | sha256sum | cut -c1-12)
  file=$out/$name-rootfs-$key.tar
  if [ ! -f "$file" ]; then
    log "making the $name root filesystem: Debian $suite with ${packages//$'\n'/ } (once)"
    start=$SECONDS
    for h in "$@"; do hooks+=(--customize-hook="$h"); done
    # shellcheck disable=SC2086
    $SUDO mmdebstrap --quiet --variant=minbase --mode=root \
      --include="$(echo $packages | tr ' ' ,)" \
      --aptopt='APT::Install-Recommends "false"' \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --customize-hook="chroot \"\$1\" groupadd --system --gid $gid $account" \
      --customize-hook="chroot \"\$1\" useradd --system --uid $uid --gid $account --home-dir $workdir --create-home --shell /usr/sbin/nologin $account" \
      "${hooks[@]}" \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
      "$suite" "$out/.$name-rootfs-$key.tmp.tar" "$mirror" >&2
    $SUDO chown "$(id -u):$(id -g)" "$out/.$name-rootfs-$key.tmp.tar"
    mv -f "$out/.$name-rootfs-$key.tmp.tar" "$file"
    log "$name root filesystem in $((SECONDS - start))s"
  fi
  echo "$file"
}
mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p; s/^deb \(http[^ ]*debian\) .*/\1/p' | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

runner_rootfs=$(rootfs runner build/coffer-runner.Dockerfile coffer)
"$bin/coffer-image" -dockerfile build/coffer-runner.Dockerfile -tag "$registry/coffer-runner:$tag" \
  -layer "$runner_rootfs" -file "$out/coffer-runner:/usr/local/bin/coffer-runner:0755" -o "$out/coffer-runner.tar"

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

# The cluster suite's database pods: PostgreSQL 17 and MariaDB in one image (one root filesystem).
dbfile=test/cluster/images/databases.Dockerfile
db_rootfs=$(rootfs databases "$dbfile" db \
  'rm -rf "$1"/var/lib/postgresql/17/main "$1"/etc/postgresql/17/main "$1"/var/lib/mysql/*')
dbentry=test/cluster/images/databases-entrypoint.sh
# Compressing its 600 MB layer takes about a minute: only when an input is newer than the tarball.
stale=0
for f in "$db_rootfs" "$dbfile" "$dbentry" "$bin/coffer-image"; do
  [ "$out/test-databases.tar" -nt "$f" ] || stale=1
done
if [ "$stale" = 1 ]; then
  start=$SECONDS
  "$bin/coffer-image" -dockerfile "$dbfile" -tag "$test_databases" -layer "$db_rootfs" \
    -file "$dbentry:/usr/local/bin/coffer-test-db:0755" -o "$out/.test-databases.tar.tmp"
  mv -f "$out/.test-databases.tar.tmp" "$out/test-databases.tar"
  log "built $test_databases in bin/images/ in $((SECONDS - start))s"
fi

if hack/cluster.sh status 2>/dev/null; then
  for c in coffer-controller coffer-runner test-databases; do
    if ! msg=$($SUDO "$bin/ctr" --address /run/coffer-cluster/containerd/containerd.sock -n k8s.io images import "$out/$c.tar" 2>&1); then
      echo "$msg" >&2
      exit 1
    fi
  done
  log "imported into the local cluster"
else
  log "the local cluster is not running: not imported (make cluster, then make images)"
fi
