# Coffer — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /usr/bin/env bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export GOFLAGS := -buildvcs=false

.PHONY: all build demo test test-unit bench lint fmt vet clean deps generate envtest-assets deploy cluster cluster-down images e2e

CONTROLLER_GEN_VERSION := v0.21.0
GOLANGCI_LINT_VERSION := v2.15.0

all: build

build: ## Build coffer-runner and the kubectl plugin kubectl-coffer into bin/
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/coffer-runner ./cmd/coffer-runner
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/kubectl-coffer ./cmd/kubectl-coffer

demo: build ## Back up (deduplicated, encrypted; twice), restore and compare a sample PostgreSQL database into ./demo-data
	hack/deps.sh demo
	hack/demo.sh

deps: ## Install and start everything the tests need (PostgreSQL, MariaDB, age, zstd, MinIO)
	hack/deps.sh test

test: deps build ## Every test: unit and integration against real servers, then the cluster suite (make e2e)
	$(GO) vet ./...
	$(GO) vet -tags cluster ./test/cluster/
	$(GO) test -count=1 -timeout 30m ./...
	hack/e2e.sh

test-unit: ## Only the tests that need no server (under a minute; server helpers skip under -short)
	$(GO) test -count=1 -short ./...

bench: deps build ## Benchmarks: prints figures against baselines measured in the same run
	hack/bench.sh

lint: ## gofmt, go vet and golangci-lint (.golangci.yml; built into bin/ once)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	test -x bin/golangci-lint || GOBIN=$(CURDIR)/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	bin/golangci-lint run ./...

generate: ## Regenerate deepcopy code and CRDs from api/v1alpha1, and the chart's copies of them and of config/rbac (checked in)
	test -x bin/controller-gen || GOBIN=$(CURDIR)/bin $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	bin/controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/...
	bin/controller-gen crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	cp config/crd/bases/*.yaml charts/coffer/files/crds/
	cp config/rbac/*.yaml charts/coffer/files/rbac/
	cp config/monitoring/prometheus/coffer.rules.yaml charts/coffer/files/coffer.rules.yaml
	cp config/monitoring/grafana/coffer-coverage.json charts/coffer/files/coffer-coverage.json

envtest-assets: ## Build kube-apiserver and etcd into bin/ for envtest (once; kube-apiserver takes minutes)
	hack/envtest-assets.sh

# Installs the CRDs, RBAC, namespace coffer-system and the controller into the current kubectl context.
# Server-side apply, as test/manifests does: no last-applied annotation, and conflicts are reported.
deploy: ## Install Coffer into the cluster of the current kubectl context
	kubectl apply --server-side -k config/default

cluster: ## Build (once, into bin/) and start a single-node Kubernetes on this machine; prints the kubeconfig path
	hack/cluster.sh up

cluster-down: ## Stop the local cluster and remove everything it made (processes, mounts, bridge, iptables rules)
	hack/cluster.sh down

images: ## Build the coffer-controller and coffer-runner images without Docker; import them into the local cluster
	hack/images.sh

# The cluster suite (test/cluster): starts the local cluster (or reuses a healthy one), imports the images,
# installs Coffer as the README says, runs the suite, and tears the cluster down whatever the result.
e2e: deps build ## The cluster suite on a real single-node Kubernetes (test/cluster), then cluster-down
	hack/e2e.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin/coffer-runner bin/kubectl-coffer demo-data
