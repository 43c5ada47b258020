#!/usr/bin/env bash
# Prints the benchmark figures (docs/benchmarks.md), each against a baseline
# measured in the same run:
#   1. coffer-runner vs pg_dump/pg_restore on a generated ≥ 1 GB database;
#   2. the runner daemon's idle RSS and CPU over a minute (schedule every minute);
#   3. retention planning over 100,000 backups, and listing 10,000 manifests on MinIO;
#   4. a kubernetes target: 5,000 objects (40 MiB) backed up from envtest's API server, time, peak heap
#      and RSS (goal <= 128 MiB), and their restore into another namespace.
#   5. the offsite copy (size and sha256 checked, manifest last) vs a plain Get→Put of the
#      same objects with the same storage client, between two MinIO servers.
#   6. storage format 2 (dedup) vs format 1, restic and kopia: stored bytes of daily backups of
#      a changing database, CPU per GB, peak RSS (hack/bench-dedup.sh; DEDUP_MB, DEDUP_DAYS).
#   7. restore vs pg_restore from a local file: format 1 and 2, verify pass vs verify while
#      restoring into a new database, wall and CPU (hack/bench-restore.sh; RESTORE_MB, RESTORE_ROUNDS).
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./hack/bench "$@"
echo
go run ./hack/bench -daemon-seconds 65
echo
go test -run '^$' -bench 'Plan100k' -benchtime 5x ./internal/retention/ | grep -E '^Benchmark'
go test -run '^$' -bench 'List10000' -benchtime 3x ./internal/catalog/ | grep -E '^Benchmark'
go test -run '^$' -bench 'Kubernetes5000' -benchtime 1x ./internal/engine/kubernetes/ 2>/dev/null | grep -E '^Benchmark|bench_test'
go test -run '^$' -bench 'OffsiteCopy' -benchtime 5x -count 2 ./internal/offsite/ | grep -E '^Benchmark'
if [ -x hack/bench-filesystem.sh ]; then echo; hack/bench-filesystem.sh; fi
if [ -x hack/bench-dedup.sh ]; then echo; hack/bench-dedup.sh; fi
if [ -x hack/bench-restore.sh ]; then echo; hack/bench-restore.sh; fi
