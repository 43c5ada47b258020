#!/usr/bin/env bash
# Makes sure what the demo and the tests need is installed and running.
#   hack/deps.sh demo   PostgreSQL (installed and started if missing), age
#   hack/deps.sh test   everything: PostgreSQL, MariaDB, age, zstd, git, redis-server, GNU time, Prometheus (promtool), MinIO, fake-gcs-server and Helm (built into bin/), Azurite (npm, into bin/azurite)
# Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-test}

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_pkgs=()
command -v pg_dump >/dev/null 2>&1 || need_pkgs+=(postgresql postgresql-client)
command -v age >/dev/null 2>&1 || need_pkgs+=(age)
if [ "$mode" = test ]; then
  command -v mariadb-dump >/dev/null 2>&1 || need_pkgs+=(mariadb-server mariadb-client)
  [ -x /usr/sbin/mariadbd ] || need_pkgs+=(mariadb-server)
  command -v zstd >/dev/null 2>&1 || need_pkgs+=(zstd)
  command -v git >/dev/null 2>&1 || need_pkgs+=(git)
  command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
  command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)   # promtool and a real Prometheus for the alert tests
  [ -x /usr/bin/time ] || need_pkgs+=(time)
  [ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server openssh-client)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing: ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 with trust auth for local connections.
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  # A fresh Debian install uses peer/scram auth: allow trust on loopback for the tests.
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -1)
  $SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  $SUDO sed -i -E 's/^(local\s+all\s+postgres\s+)\S+/\1trust/' "$hba"
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload || true
  sleep 1
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 1; }

if [ "$mode" != test ]; then
  echo "demo dependencies ready"
  exit 0
fi

# MariaDB on 127.0.0.1:3306, root without password.
if ! mariadb -h 127.0.0.1 -P 3306 -uroot -e 'select 1' >/dev/null 2>&1; then
  if ! mariadb -uroot -e 'select 1' >/dev/null 2>&1; then
    $SUDO mkdir -p /run/mysqld && $SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
    $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql || true
    for _ in $(seq 1 30); do mariadb -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
  fi
  # Debian's root uses unix_socket auth: allow the empty password over TCP too.
  $SUDO mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');" 2>/dev/null || true
  mariadb -h 127.0.0.1 -P 3306 -uroot -e 'select 1' >/dev/null 2>&1 || { echo "MariaDB is not reachable on 127.0.0.1:3306 as root" >&2; exit 1; }
fi

# MinIO server binary, built once from the Go module proxy.
if [ ! -x bin/minio ]; then
  echo "building MinIO into bin/ (about 2 minutes, once)"
  GOBIN="$PWD/bin" GOFLAGS=-buildvcs=false go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
fi

# fake-gcs-server (GCS emulator), built once from the Go module proxy (same pin as internal/testutil).
if [ ! -x bin/fake-gcs-server ]; then
  echo "building fake-gcs-server into bin/ (once)"
  GOBIN="$PWD/bin" GOFLAGS=-buildvcs=false go install github.com/fsouza/fake-gcs-server@v1.56.1
fi

# Helm, built once from the Go module proxy: charts/ runs helm lint and helm template on charts/coffer.
if [ ! -x bin/helm ]; then
  echo "building Helm into bin/ (once)"
  GOBIN="$PWD/bin" GOFLAGS=-buildvcs=false go install helm.sh/helm/v3/cmd/helm@v3.22.0
fi

# Azurite (Azure Storage emulator) from the npm registry into bin/azurite, once.
# internal/testutil installs the same pin when it is missing.
if [ ! -x bin/azurite/node_modules/.bin/azurite-blob ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "installing: nodejs npm"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "installing Azurite into bin/azurite (once)"
  npm install --no-audit --no-fund --prefix bin/azurite azurite@3.37.0 >/dev/null
fi

# kube-apiserver and etcd for envtest, built once into bin/ (kube-apiserver takes minutes).
hack/envtest-assets.sh >/dev/null
echo "test dependencies ready"
