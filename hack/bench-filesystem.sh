#!/usr/bin/env bash
# Benchmarks the filesystem engine against GNU tar, in one run on the same
# trees: 100,000 small files, and 4 files of 256 MiB. Prints wall and CPU
# time and peak RSS of `tar -cf - DIR` and of a Coffer backup, each writing
# to /dev/null and into a pipe (see docs/engines.md for why both). The trees
# are made once in $COFFER_BENCH_TREES (default: a directory under TMPDIR)
# and reused by later runs; delete it to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
export COFFER_BENCH_TREES=${COFFER_BENCH_TREES:-${TMPDIR:-/tmp}/coffer-bench-trees}
mkdir -p "$COFFER_BENCH_TREES"
echo "filesystem engine vs GNU tar (trees in $COFFER_BENCH_TREES)"
go test -run '^$' -bench '^BenchmarkBackupVsTar$' -benchtime 1x -count 1 -timeout 30m \
  ./internal/engine/filesystem/ | grep -vE '^(goos|goarch|pkg|cpu|PASS|ok)' || true
