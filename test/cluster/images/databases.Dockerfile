# syntax=docker/dockerfile:1
# coffer-test-databases: PostgreSQL 17 and MariaDB in one image, for the cluster suite (test/cluster)
# only, never for production. The argument picks the server: `postgres` or `mariadb`; data goes to
# /data (an emptyDir), the passwords come from POSTGRES_PASSWORD / MARIADB_ROOT_PASSWORD (the pod
# takes them from a Secret). Runs as an unprivileged user, so Pod Security `restricted` admits it.
#   docker build -f test/cluster/images/databases.Dockerfile -t coffer.local/test-databases:dev .
# hack/images.sh builds the same image without Docker from this file (internal/imagespec).

FROM debian:trixie-slim
# The servers' own first-run databases are removed: the entrypoint makes fresh ones in /data.
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        postgresql-17 mariadb-server; \
    rm -rf /var/lib/apt/lists/* /var/lib/postgresql/17/main /etc/postgresql/17/main /var/lib/mysql/*
RUN groupadd --system --gid 65532 db \
 && useradd --system --uid 65532 --gid db --home-dir /data --create-home --shell /usr/sbin/nologin db
COPY test/cluster/images/databases-entrypoint.sh /usr/local/bin/coffer-test-db
USER 65532:65532
WORKDIR /data
EXPOSE 5432 3306
ENTRYPOINT ["/usr/local/bin/coffer-test-db"]
