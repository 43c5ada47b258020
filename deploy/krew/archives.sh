#!/usr/bin/env bash
# Builds the kubectl-coffer archives krew installs (dist/kubectl-coffer_<os>_<arch>.tar.gz) for VERSION
# and writes their sha256 and VERSION into deploy/krew/coffer.yaml. Builds are reproducible (-trimpath,
# no build id, fixed tar metadata), so the same source and Go toolchain give the same checksums.
#   deploy/krew/archives.sh v0.1.0
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:?usage: deploy/krew/archives.sh VERSION (e.g. v0.1.0)}
manifest=deploy/krew/coffer.yaml
mkdir -p dist
for platform in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64; do
  os=${platform%/*} arch=${platform#*/}
  dir=$(mktemp -d)
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOFLAGS=-buildvcs=false go build -trimpath \
    -ldflags "-s -w -buildid= -X main.version=$version" -o "$dir/kubectl-coffer" ./cmd/kubectl-coffer
  archive=dist/kubectl-coffer_${os}_${arch}.tar.gz
  tar -C "$dir" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - kubectl-coffer | gzip -n -9 > "$archive"
  rm -rf "$dir"
  sum=$(sha256sum "$archive" | cut -d' ' -f1)
  # The sha256 line follows the uri line of the platform's archive.
  sed -i -E "/kubectl-coffer_${os}_${arch}\.tar\.gz/{n;s/sha256: \"[0-9a-f]*\"/sha256: \"$sum\"/}" "$manifest"
  echo "$archive $sum"
done
sed -i -E "s#^(  version: ).*#\1$version#; s#/releases/download/[^/]+/#/releases/download/$version/#" "$manifest"
