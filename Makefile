# easel — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := $(CURDIR)/bin
GO      ?= go
# The Dockerfile's build stage uses the same flags; test/chart checks that.
GO_BUILD_FLAGS := -trimpath
LDFLAGS := -s -w -X github.com/easelhq/easel/internal/version.Version=$(VERSION)

HELM               := $(BIN)/helm
KUBEBUILDER_ASSETS ?= $(BIN)/k8s
IMAGE              ?= easel:$(VERSION)

BENCHSTAT_VERSION := v0.0.0-20260908200009-22c9c6c9d4da
BENCHSTAT := $(BIN)/benchstat

GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(BIN)/golangci-lint

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run one replica on :8080 with in-memory sessions (no Redis needed).
	$(GO) run ./cmd/easel serve --log-format text

.PHONY: build
build: ## Build bin/easel (static, version stamped).
	CGO_ENABLED=0 $(GO) build $(GO_BUILD_FLAGS) -ldflags "$(LDFLAGS)" -o $(BIN)/easel ./cmd/easel

FUZZTIME ?= 5s

.PHONY: test
test: tools ## Run every test: unit, Redis, cluster (nginx), chart and browser tests, then each fuzz target briefly.
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...
	$(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) --no-print-directory fuzz

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 5s) on top of its checked-in corpus.
	@for target in FuzzInspect FuzzDecode FuzzParseOp; do \
		$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) ./internal/imaging/ || exit 1; \
	done

.PHONY: test-cluster
test-cluster: ## The strategy matrix on a local cluster: real nginx, real redis-server, 3 easel processes.
	EASEL_REQUIRE_DEPS=1 $(GO) test -count=1 ./test/cluster/...

.PHONY: demo
demo: ## Run the strategy matrix with 3 replicas; print the comparison, write demo-report.html.
	$(GO) run ./test/cluster/demo --report demo-report.html --json demo-report.json

.PHONY: tools
tools: ## Install pinned helm, kube-apiserver, etcd, the CRD modules and the S3 test server into ./bin (cached: seconds when built).
	bash hack/install-tools.sh

.PHONY: helm-lint
helm-lint: ## helm lint --strict the chart with each charts/easel/ci values file.
	bash hack/install-tools.sh helm
	@for f in charts/easel/ci/*-values.yaml; do echo "helm lint -f $$f"; $(HELM) lint --strict charts/easel -f $$f || exit 1; done

.PHONY: chart-test
chart-test: tools ## Chart: every strategy linted, rendered and created in a real kube-apiserver; kustomize, skaffold and Dockerfile agreement.
	EASEL_HELM=$(HELM) KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) EASEL_REQUIRE_DEPS=1 $(GO) test -count=1 ./test/chart/ ./test/docker/

.PHONY: fmt
fmt: ## Format the code.
	gofmt -w $(shell git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (pinned, installed into ./bin).
	$(GOLANGCI_LINT) run ./...
	$(GOLANGCI_LINT) run --build-tags e2e ./test/e2e/...

$(GOLANGCI_LINT):
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: bench
bench: $(BENCHSTAT) ## Run every benchmark side by side (about 7 minutes), rewrite BENCHMARKS.md and print the ratios (BENCH_ARGS='-only "blob store"' runs one step and prints it).
	bash hack/install-tools.sh gofakes3
	@# The large-photos step's yardstick is libvips' `vips thumbnail`, measured under GNU time; only the benchmarks need them.
	@{ command -v vips && test -x /usr/bin/time; } >/dev/null || apt-get install -y -qq --no-install-recommends libvips-tools time || \
		{ echo "make bench needs vips and GNU time: apt-get install libvips-tools time"; exit 1; }
	$(GO) run ./test/bench/run $(BENCH_ARGS)

$(BENCHSTAT):
	GOBIN=$(BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

.PHONY: test-browser
test-browser: ## The browser journey in Chromium against a local cluster (3 replicas, nginx round robin, Redis).
	EASEL_REQUIRE_DEPS=1 $(GO) test -count=1 ./test/browser/...

.PHONY: screenshots
screenshots: ## Refresh docs/img (editor, crop, adjust, phone, comparison) from the real pages (chromium, nginx, redis-server).
	$(GO) run ./test/browser/screenshots --out docs/img

.PHONY: cluster-up
cluster-up: ## Start a real single-node Kubernetes on this machine (root; built from source; kubeconfig in bin/cluster/kubeconfig).
	bash hack/cluster/cluster.sh check
	bash hack/install-tools.sh cluster
	bash hack/cluster/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Stop the local cluster: only what cluster-up started; unmount, restore the host.
	bash hack/cluster/cluster.sh down

.PHONY: image
image: ## Build easel:dev from the Dockerfile (base images built locally if absent); load it into the local cluster if up.
	IMAGE=easel:dev VERSION=$(VERSION) bash hack/cluster/images.sh easel

E2E_TIMEOUT ?= 60m

.PHONY: e2e
e2e: ## The e2e suite on a real cluster: kind where Docker runs privileged containers, else the local cluster (E2E_PROVIDER, E2E_KUBECONFIG, E2E_README=1).
	bash hack/install-tools.sh helm
	$(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -v -run TestE2E ./test/e2e/

.PHONY: e2e-kind
e2e-kind: ## The e2e suite on kind (needs Docker with privileged containers; E2E_CLUSTER, E2E_KEEP=1, E2E_INGRESS=traefik|ingress-nginx).
	bash hack/install-tools.sh helm
	E2E_PROVIDER=kind $(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -v -run TestE2E ./test/e2e/
