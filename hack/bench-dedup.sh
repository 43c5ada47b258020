#!/usr/bin/env bash
# Storage format 2 (deduplicated) against format 1, restic and kopia, in one
# run on one machine and one kind of storage (a local directory each):
# a PostgreSQL database of DEDUP_MB (default 1024) is backed up once a
# "day" for DEDUP_DAYS (default 30) days, changing about 1 % of the rows a
# day between backups (updates, inserts and deletes spread over three tables,
# in runs of neighbouring rows; see the loop). Prints,
# per day, the stored bytes of each tool, and at the end the CPU seconds per
# GB of dump of the first and the last backup and each tool's peak RSS.
#
# Every tool reads the same dump: coffer-runner runs pg_dump -Fc -Z0 itself,
# restic and kopia read `pg_dump -Fc -Z0` on stdin; CPU and RSS are of the
# whole pipeline (GNU time over the tool and its pg_dump). kopia runs twice,
# into two repositories: with its defaults (no compression) and with
# zstd-fastest, what Coffer uses; Coffer format 2 runs twice too: at its
# default level (zstd fastest) and at level none (column coffer-v2-none,
# no compression, like kopia's defaults).
#
# restic and kopia are built from the Go module proxy into bin/ once
# (`go install`), unless RESTIC/KOPIA name binaries (empty: leave it out); a tool that cannot be
# built is left out and said so. Small runs while developing:
#   DEDUP_MB=100 DEDUP_DAYS=5 hack/bench-dedup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for c in age-keygen psql pg_dump /usr/bin/time bc; do
  command -v "$c" >/dev/null || { echo "bench-dedup: $c is missing (hack/deps.sh test installs it)" >&2; exit 1; }
done
MB=${DEDUP_MB:-1024}
DAYS=${DEDUP_DAYS:-30}
# DEDUP_TOOLS picks the columns (a 30-day series with all five takes hours).
TOOLS=" ${DEDUP_TOOLS:-coffer-v1 coffer-v2 coffer-v2-none restic kopia kopia-zstd} "
want() { [[ $TOOLS == *" $1 "* ]]; }
DB=coffer_bench_dedup
PG="-h 127.0.0.1 -U postgres"
work=$(mktemp -d "${TMPDIR:-/tmp}/coffer-bench-dedup-XXXXXX")
trap 'rm -rf "$work"; dropdb $PG --if-exists $DB >/dev/null 2>&1 || true' EXIT

tool() { # tool NAME PACKAGE@VERSION: a binary in bin/, built once from the module proxy
  local name=$1 pkg=${2%@*} version=${2#*@}
  if [ -x "bin/$name" ]; then echo "bin/$name"; return; fi
  if GOBIN="$PWD/bin" go install "$2" >"$work/$name-build.log" 2>&1; then echo "bin/$name"; return; fi
  # go install reads the module's version list for deprecations, which the
  # proxy refuses for kopia; a throwaway module that requires it builds it.
  local mod="$work/$name-module"
  mkdir -p "$mod"
  if (cd "$mod" && go mod init build >/dev/null 2>&1 && go get "$pkg@$version" && go build -o "$OLDPWD/bin/$name" "$pkg") >>"$work/$name-build.log" 2>&1; then
    echo "bin/$name"
  else
    echo "$name: building $2 failed; left out" >&2
  fi
}
# Pinned: the proxy's @latest of restic is v0.10.0 (2020), and kopia lists no versions.
mkdir -p bin
RESTIC=${RESTIC-$(tool restic github.com/restic/restic/cmd/restic@v0.18.1)}
KOPIA=${KOPIA-$(tool kopia github.com/kopia/kopia@v0.21.1)}
go build -o "$work/coffer-runner" ./cmd/coffer-runner

echo "format 2 dedup benchmark: ${MB} MB database, ${DAYS} daily backups, ~1 % change a day"
dropdb $PG --if-exists $DB >/dev/null 2>&1 || true
createdb $PG $DB
rows=$((MB * 1024 * 1024 / 3 / 230))
psql -X -q $PG -d $DB -v ON_ERROR_STOP=1 <<SQL
CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz, kind text, body text);
CREATE TABLE users (id bigserial PRIMARY KEY, name text, email text, profile jsonb);
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint, total numeric, note text);
INSERT INTO events (at, kind, body) SELECT now() - i * interval '1 second', 'kind' || (i % 17),
  md5(i::text) || md5((i * 7)::text) || md5((i * 13)::text) || md5((i * 31)::text) || ' ' || (i::bigint * 7919 % 100003) FROM generate_series(1, $rows) i;
INSERT INTO users (name, email, profile) SELECT 'user ' || i, md5(i::text) || '@example.com',
  jsonb_build_object('n', i, 'tags', md5((i+1)::text), 'bio', md5((i+2)::text) || md5((i+3)::text) || md5((i+4)::text)) FROM generate_series(1, $rows) i;
INSERT INTO orders (user_id, total, note) SELECT i % 1000, (i * 13 % 10007) / 100.0,
  md5((i * 3)::text) || md5((i * 5)::text) || md5((i * 11)::text) || md5((i * 17)::text) || md5((i * 19)::text) FROM generate_series(1, $rows) i;
SQL
# Vacuumed and checkpointed before the first backup, and after each day's
# change: else autovacuum and the checkpointer run during the first
# columns of a day and slow only those.
settle() { psql -X -q $PG -d $DB -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null; }
settle
echo "database: $(psql -X -At $PG -d $DB -c "SELECT pg_size_pretty(pg_database_size('$DB'))"), $rows rows per table"

# Coffer: one storage per format, same age key, same dedup key for format 2.
age-keygen -o "$work/age.txt" 2>/dev/null
recipient=$(grep -o 'age1[0-9a-z]*' "$work/age.txt" | head -1)
identity=$(grep '^AGE-SECRET-KEY' "$work/age.txt")
dedup=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# Storage 3 is format 2 at compression level none.
for f in 1 2 3; do
  mkdir -p "$work/coffer$f"
  chunked=""
  [ $f != 1 ] && chunked=", chunked: {keySecretRef: {name: dedup, key: key}}"
  [ $f = 3 ] && chunked+=", compression: {level: none}"
  cat >"$work/coffer$f.yaml" <<YAML
apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: local}
spec: {filesystem: {path: "$work/coffer$f"}, encryption: {recipients: [$recipient], identitySecretRef: {name: age, key: identity}}$chunked}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: bench, namespace: default}
spec:
  storageRef: {name: local}
  targets:
  - name: main
    postgres: {host: 127.0.0.1, port: 5432, database: $DB, user: postgres}
---
apiVersion: v1
kind: Secret
metadata: {name: age}
stringData: {identity: "$identity"}
---
apiVersion: v1
kind: Secret
metadata: {name: dedup}
stringData: {key: "$dedup"}
YAML
done
export RESTIC_PASSWORD=bench-password KOPIA_PASSWORD=bench-password
if [ -n "$RESTIC" ]; then "$RESTIC" -q init --repo "$work/restic" >/dev/null; fi
if [ -n "$KOPIA" ]; then
  # Two repositories: kopia's defaults (no compression), and zstd-fastest
  # as a global policy, which is what Coffer's chunks get.
  "$KOPIA" --config-file "$work/kopia.config" repository create filesystem --path "$work/kopia" >/dev/null 2>&1
  "$KOPIA" --config-file "$work/kopia-zstd.config" repository create filesystem --path "$work/kopia-zstd" >/dev/null 2>&1
  "$KOPIA" --config-file "$work/kopia-zstd.config" policy set --global --compression=zstd-fastest >/dev/null 2>&1 || { echo "kopia: setting the zstd-fastest policy failed" >&2; exit 1; }
fi

# timed NAME CMD...: runs CMD under GNU time, appends "NAME day wall cpu rss_kib" to $work/times.
timed() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" >/dev/null 2>"$work/$name.err" || { cat "$work/$name.err" >&2; return 1; }
  read -r wall user sys rss <"$work/t"
  echo "$name $day $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $rss" >>"$work/times"
}
size() { du -sb "$1" | cut -f1; }
dump="pg_dump -Fc -Z0 $PG $DB"

# Rows are made of distinct md5 texts, never one md5 repeated: a column
# with a 32-byte period makes kopia's rolling hash (buzhash, 64-byte window,
# 32-bit words) zero over the whole run, so it cuts a chunk at every
# minimum size (2 MiB) and a row inserted early shifts every later cut.
rnd4="md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text)"
day1chunks=0
printf '%-4s %12s %12s %12s %14s %12s %12s %12s\n' day dump coffer-v1 coffer-v2 coffer-v2-none restic kopia kopia-zstd
for day in $(seq 1 "$DAYS"); do
  if [ "$day" -gt 1 ]; then
    # ~1 % of the rows a day, spread over the three tables and over each
    # table in a few runs of neighbouring rows (as hot rows usually are):
    # 0.4 % updated, 0.2 % deleted, 0.4 % inserted.
    change=""
    for t in events users orders; do
      for _ in 1 2 3 4; do
        from=$(( (RANDOM * 32768 + RANDOM) % rows ))
        case $t in
          events) change+="UPDATE events SET body = md5(body) || ' day $day' WHERE id BETWEEN $from AND $((from + rows / 1000)); " ;;
          users) change+="UPDATE users SET profile = profile || jsonb_build_object('day', $day) WHERE id BETWEEN $from AND $((from + rows / 1000)); " ;;
          orders) change+="UPDATE orders SET total = total + 1 WHERE id BETWEEN $from AND $((from + rows / 1000)); " ;;
        esac
      done
      for _ in 1 2; do
        from=$(( (RANDOM * 32768 + RANDOM) % rows ))
        change+="DELETE FROM $t WHERE id BETWEEN $from AND $((from + rows / 1000)); "
      done
    done
    change+="INSERT INTO events (at, kind, body) SELECT now(), 'day$day', $rnd4 FROM generate_series(1, $((rows / 250))); "
    change+="INSERT INTO users (name, email, profile) SELECT 'new $day', md5(random()::text), '{}' FROM generate_series(1, $((rows / 250))); "
    change+="INSERT INTO orders (user_id, total, note) SELECT i % 1000, i, $rnd4 || md5(random()::text) FROM generate_series(1, $((rows / 250))) i; "
    psql -X -q $PG -d $DB -v ON_ERROR_STOP=1 -c "$change"
    settle
  fi
  plain=$($dump | wc -c)
  # The dump alone, on the first and last day: what every column pays
  # before its own work (subtract it for the tool's own CPU).
  if [ "$day" = 1 ] || [ "$day" = "$DAYS" ]; then timed pg_dump bash -o pipefail -c "$dump >/dev/null"; fi
  c1=-; c2=-; c3=-; r=-; k=-; kz=-
  if want coffer-v1; then timed coffer-v1 "$work/coffer-runner" backup -f "$work/coffer1.yaml"; c1=$(size "$work/coffer1"); fi
  if want coffer-v2; then timed coffer-v2 "$work/coffer-runner" backup -f "$work/coffer2.yaml"; c2=$(size "$work/coffer2"); fi
  if want coffer-v2-none; then timed coffer-v2-none "$work/coffer-runner" backup -f "$work/coffer3.yaml"; c3=$(size "$work/coffer3"); fi
  if [ -n "$RESTIC" ] && want restic; then
    timed restic bash -o pipefail -c "$dump | '$RESTIC' -q backup --repo '$work/restic' --stdin --stdin-filename db.pgdump"
    r=$(size "$work/restic")
  fi
  if [ -n "$KOPIA" ] && want kopia; then
    timed kopia bash -o pipefail -c "$dump | '$KOPIA' --config-file '$work/kopia.config' snapshot create --stdin-file db.pgdump -"
    k=$(size "$work/kopia")
  fi
  if [ -n "$KOPIA" ] && want kopia-zstd; then
    timed kopia-zstd bash -o pipefail -c "$dump | '$KOPIA' --config-file '$work/kopia-zstd.config' snapshot create --stdin-file db.pgdump -"
    kz=$(size "$work/kopia-zstd")
  fi
  echo "$plain" >>"$work/plain"
  [ "$day" = 1 ] && want coffer-v2 && day1chunks=$(find "$work/coffer2" -path '*/chunks/*' -type f | wc -l)
  printf '%-4s %12s %12s %12s %14s %12s %12s %12s\n' "$day" "$plain" "$c1" "$c2" "$c3" "$r" "$k" "$kz"
done

echo
echo "stored bytes after $DAYS days relative to format 2: $(
  c2=$(size "$work/coffer2")
  for d in coffer1:coffer-v1 coffer3:coffer-v2-none restic:restic kopia:kopia kopia-zstd:kopia-zstd; do
    want "${d#*:}" && [ -d "$work/${d%:*}" ] && printf '%s %.2f×  ' "${d%:*}" "$(echo "$(size "$work/${d%:*}") / $c2" | bc -l)"
  done)"
first=$(head -1 "$work/plain"); last=$(tail -1 "$work/plain")
chunks=$(find "$work/coffer2" -path '*/chunks/*' -type f | wc -l)
awk -v c1="$day1chunks" -v p="$first" -v c="$chunks" -v d="$DAYS" 'BEGIN {
  printf "format 2 objects: %d chunks for the first backup (%.0f per GB of dump), %d after %d days\n", c1, c1 / (p / 1e9), c, d }' 
printf '%-14s %18s %18s %14s %14s %12s\n' tool "cpu s/GB first" "cpu s/GB last" "wall first s" "wall last s" "peak RSS"
for name in pg_dump coffer-v1 coffer-v2 coffer-v2-none restic kopia kopia-zstd; do
  grep -q "^$name " "$work/times" || continue
  awk -v n="$name" -v f="$first" -v l="$last" -v days="$DAYS" '
    $1 == n && $2 == 1 { cf = $4; wf = $3 }
    $1 == n && $2 == days { cl = $4; wl = $3 }
    $1 == n && $5 > rss { rss = $5 }
    END { printf "%-14s %18.2f %18.2f %14.2f %14.2f %9.0f MiB\n", n, cf / (f / 1e9), cl / (l / 1e9), wf, wl, rss / 1024 }' "$work/times"
done
echo "(CPU and RSS include the tool's pg_dump, whose own cost is the pg_dump row; RSS is the largest process of the pipeline)"
