#!/usr/bin/env bash
# The demo: back up a sample PostgreSQL database with encryption into a local
# filesystem storage under ./demo-data, list it, verify it, restore it into a
# new database, and prove the restored data equals the original. Re-runnable.
set -euo pipefail
cd "$(dirname "$0")/.."

PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres
export PGHOST PGPORT PGUSER
SRC=coffer_demo
DST=coffer_demo_restored
DATA="$PWD/demo-data"
RUNNER="$PWD/bin/coffer-runner"
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Creating the sample database '$SRC'"
psql_q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $SRC WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DST WITH (FORCE)"
psql_q -d postgres -c "CREATE DATABASE $SRC"
psql_q -d "$SRC" -f hack/demo/sample.sql >/dev/null
psql -X -At -d "$SRC" -c "SELECT 'customers=' || (SELECT count(*) FROM customers) || ' products=' || (SELECT count(*) FROM products) || ' orders=' || (SELECT count(*) FROM orders) || ' size=' || pg_size_pretty(pg_database_size('$SRC'))"

step "Writing the config $DATA/coffer.yaml (filesystem storage, age encryption)"
mkdir -p "$DATA/storage"
if [ ! -s "$DATA/age.key" ]; then
  (umask 077; age-keygen -o "$DATA/age.key" 2>/dev/null)
fi
recipient=$(age-keygen -y "$DATA/age.key")
identity=$(grep '^AGE-SECRET-KEY-' "$DATA/age.key")
(umask 077; cat > "$DATA/coffer.yaml" <<YAML
apiVersion: coffer.dev/v1alpha1
kind: BackupStorage
metadata: {name: local}
spec:
  filesystem: {path: "$DATA/storage"}
  encryption:
    recipients: ["$recipient"]
    identitySecretRef: {name: age-key, key: identity}
---
apiVersion: coffer.dev/v1alpha1
kind: BackupDefinition
metadata: {name: shop, namespace: demo}
spec:
  storageRef: {name: local}
  schedule: "0 * * * *"
  retention: {hourly: 24, daily: 7, weekly: 4, monthly: 12, yearly: 2}
  targets:
  - name: main
    postgres: {host: 127.0.0.1, port: 5432, database: $SRC, user: postgres}
---
apiVersion: v1
kind: Secret
metadata: {name: age-key}
stringData:
  identity: "$identity"
YAML
)
echo "recipient: $recipient"

step "Backing up"
start=$(date +%s%N)
id=$("$RUNNER" backup -f "$DATA/coffer.yaml" --log-level warn)
backup_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "backup id: $id"

step "Listing backups"
"$RUNNER" list -f "$DATA/coffer.yaml"

step "Verifying backup $id (download, decrypt, decompress, check checksums)"
"$RUNNER" verify -f "$DATA/coffer.yaml" --backup "$id"

step "Restoring backup $id into the new database '$DST'"
start=$(date +%s%N)
"$RUNNER" restore -f "$DATA/coffer.yaml" --backup "$id" --target main --into-database "$DST" --log-level warn
restore_ms=$(( ($(date +%s%N) - start) / 1000000 ))

step "Comparing '$SRC' and '$DST' (row checksums per table, views, functions, sequences, triggers)"
psql -X -At -d "$SRC" -f hack/demo/fingerprint.sql > "$DATA/fingerprint-original.txt"
psql -X -At -d "$DST" -f hack/demo/fingerprint.sql > "$DATA/fingerprint-restored.txt"
if ! diff -u "$DATA/fingerprint-original.txt" "$DATA/fingerprint-restored.txt"; then
  echo "FAILED: the restored database differs from the original" >&2
  exit 1
fi
cat "$DATA/fingerprint-restored.txt" | sed 's/^/  /'

stored=$(find "$DATA/storage" -path "*$id*" -name 'main.*' -printf '%s')
object=$(find "$DATA/storage" -path "*$id*" -name 'main.*')
dbsize=$(psql -X -At -d "$SRC" -c "SELECT pg_size_pretty(pg_database_size('$SRC'))")
step "Summary"
printf '  backup      %s in %d ms\n' "$id" "$backup_ms"
printf '  stored      %s bytes (zstd + age) for a %s database\n' "$stored" "$dbsize"
printf '  object      %s\n' "$object"
printf '  restore     into %s in %d ms (after a full verification pass)\n' "$DST" "$restore_ms"
printf '  comparison  %s objects identical\n' "$(wc -l < "$DATA/fingerprint-restored.txt")"
echo "  by hand     age -d -i $DATA/age.key <object> | zstd -d | pg_restore -d <db>   (docs/format.md)"
