#!/usr/bin/env bash
# Restore of a PostgreSQL database (RESTORE_MB, default 250, generated once
# as coffer_bench_restore) by coffer-runner from filesystem storage (zstd +
# age), format 1 and format 2, against pg_restore from a local -Fc file:
# into an existing empty database (verify pass, then restore) and into a
# new one (verified while it restores). Prints wall and CPU, each as a ratio
# to pg_restore, median of RESTORE_ROUNDS (default 3) interleaved rounds.
#   RESTORE_MB=100 RESTORE_ROUNDS=1 hack/bench-restore.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for c in psql pg_dump pg_restore; do
  command -v "$c" >/dev/null || { echo "bench-restore: $c is missing" >&2; exit 1; }
done
go build -o bin/coffer-runner ./cmd/coffer-runner
go run ./hack/bench -restore-mb "${RESTORE_MB:-250}" -rounds "${RESTORE_ROUNDS:-3}"
