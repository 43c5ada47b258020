#!/usr/bin/env bash
# Prints the benchmark figures (docs/benchmarks.md): coffer-runner against
# pg_dump/pg_restore on a generated ≥ 1 GB database, measured in one run, and
# the Go benchmarks of the pure parts.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./hack/bench "$@"
echo
go test -run '^$' -bench . -benchtime 5x ./internal/retention/ 2>/dev/null | grep -E '^Benchmark|^ok' || true
