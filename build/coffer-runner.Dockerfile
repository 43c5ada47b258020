# syntax=docker/dockerfile:1
# coffer-runner: the Go binary plus the dump tools the engines run (pg_dump/pg_restore,
# mariadb-dump/mariadb, git with ssh), on Debian, as an unprivileged user.
#   docker build -f build/coffer-runner.Dockerfile -t ghcr.io/coffer-dev/coffer-runner:latest .
# The runner needs a writable /tmp for its 0600 password files (PGPASSFILE, --defaults-extra-file):
# with a read-only root filesystem, mount an emptyDir there.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
ARG TARGETOS TARGETARCH
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/coffer-runner ./cmd/coffer-runner

FROM debian:bookworm-slim
# pg_dump refuses servers newer than itself and dumps every older one (down to 9.2), so the client
# comes from the PostgreSQL project's apt repository at the newest major, not Debian's 15.
# postgresql-common ships that repository's signing key and the script that adds it.
ARG PG_MAJOR=17
RUN set -eux; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates postgresql-common; \
    /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "postgresql-client-${PG_MAJOR}" mariadb-client git openssh-client tzdata; \
    rm -rf /var/lib/apt/lists/*; \
    pg_dump --version; mariadb-dump --version; git --version
RUN groupadd --system --gid 65532 coffer \
 && useradd --system --uid 65532 --gid coffer --home-dir /home/coffer --create-home --shell /usr/sbin/nologin coffer
COPY --from=build /out/coffer-runner /usr/local/bin/coffer-runner
USER 65532:65532
WORKDIR /home/coffer
# The HTTP API, metrics and the push file endpoint (coffer-runner run --listen).
EXPOSE 8080
# The subcommand comes from the pod's args: the operator renders ["run", "-f", ...] for runners and
# ["push-dir", ...] / ["pull-dir", ...] for volume reader and writer pods.
ENTRYPOINT ["coffer-runner"]
CMD ["--help"]
