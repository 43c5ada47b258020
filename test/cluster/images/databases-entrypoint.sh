#!/bin/bash
# coffer-test-db postgres|mariadb: starts one database server of the cluster suite's test image in
# the foreground, making its data directory under /data on the first start.
# coffer-test-db ready postgres|mariadb: exits 0 when that server accepts connections (the probe).
#
# PostgreSQL: superuser postgres with POSTGRES_PASSWORD, scram-sha-256 for every connection.
# MariaDB: root (from anywhere) with MARIADB_ROOT_PASSWORD. The variables are removed from the
# server's environment; they stay in the container spec, which `kubectl exec` inherits.
set -euo pipefail
data=/data
pg=/usr/lib/postgresql/17/bin
socket=/tmp/mysqld.sock

die() { echo "coffer-test-db: $*" >&2; exit 1; }

postgres() {
  [ -n "${POSTGRES_PASSWORD:-}" ] || die "POSTGRES_PASSWORD is not set"
  local dir=$data/postgres
  if [ ! -s "$dir/PG_VERSION" ]; then
    local pwfile=$data/.pwfile
    (umask 077 && printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile")
    "$pg/initdb" --pgdata="$dir" --username=postgres --pwfile="$pwfile" --encoding=UTF8 \
      --locale=C.UTF-8 --auth-local=scram-sha-256 --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    # initdb admits only loopback over TCP; the runner and the test host come from pod and node IPs.
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$dir/pg_hba.conf"
  fi
  unset POSTGRES_PASSWORD
  exec "$pg/postgres" -D "$dir" -c listen_addresses='*' -c unix_socket_directories=/tmp
}

mariadb() {
  [ -n "${MARIADB_ROOT_PASSWORD:-}" ] || die "MARIADB_ROOT_PASSWORD is not set"
  local dir=$data/mariadb init=$data/.init.sql
  if [ ! -d "$dir/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$dir" --auth-root-authentication-method=normal \
      --skip-test-db >/dev/null
  fi
  # A string literal under the default sql_mode: backslashes and quotes escaped.
  local pw=${MARIADB_ROOT_PASSWORD//\\/\\\\}
  pw=${pw//\'/\\\'}
  (umask 077 && cat >"$init" <<SQL
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$pw';
ALTER USER 'root'@'%' IDENTIFIED BY '$pw';
ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
-- mariadb-install-db also made root@127.0.0.1, ::1 and the host name without a password: over TCP
-- from the pod itself they would match before root@'%'.
DELETE FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost', '%');
FLUSH PRIVILEGES;
SQL
  )
  unset MARIADB_ROOT_PASSWORD pw
  exec mariadbd --no-defaults --datadir="$dir" --socket="$socket" --pid-file="$data/mariadb.pid" \
    --port=3306 --bind-address=0.0.0.0 --skip-name-resolve --init-file="$init"
}

ready() {
  case "${1:-}" in
  postgres) "$pg/pg_isready" -q -h /tmp -U postgres ;;
  # As root with the container's password: a refused login would be a warning in the log each probe.
  mariadb) MYSQL_PWD=${MARIADB_ROOT_PASSWORD:-} mariadb-admin --no-defaults --socket="$socket" -u root ping >/dev/null 2>&1 ;;
  *) die "ready ${1:-}: want postgres or mariadb" ;;
  esac
}

case "${1:-}" in
postgres) postgres ;;
mariadb) mariadb ;;
ready) ready "${2:-}" ;;
*) die "want an argument: postgres, mariadb, or ready postgres|mariadb" ;;
esac
