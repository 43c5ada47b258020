# syntax=docker/dockerfile:1
# coffer-controller: a static Go binary on distroless, running as nonroot (65532).
#   docker build -f build/coffer-controller.Dockerfile -t ghcr.io/coffer-dev/coffer-controller:latest .
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ... (the Go stage cross-compiles).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Modules first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
ARG TARGETOS TARGETARCH
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/coffer-controller ./cmd/coffer-controller

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/coffer-controller /coffer-controller
USER 65532:65532
ENTRYPOINT ["/coffer-controller"]
