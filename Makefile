# berth: `make demo` runs the example stack, `make test` runs every test.
GO          ?= go
BIN         := bin/berth
# PROBE is berth's healthcheck probe agent (probeagent/agent.c), installed beside berth: a static C
# binary, since it runs inside containers whose images have no C library
PROBE       := bin/berth-probe
# SHIM is berth's wrapper of containerd's runc shim (shimwrap/shim.c), the runtime berth gives its
# containers, installed beside berth: it spares a down containerd's second cleanup of each task
SHIM        := bin/berth-shim
CC          ?= gcc
PROBE_CFLAGS ?= -static -Os -s -Wall -Wextra -Werror
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
COMPAT      ?= ../shared/compat/compat.sh
# e2e: about 15 minutes on a 2-core machine once the one-time builds are cached; on a fresh machine
# the first run also builds the arm64 Debian base, edge-stack for arm64 under qemu and the release's
# containerd cross builds (TestPlatform*, TestEdgeStackOnArm64, TestRelease*): allow for those.
E2E_TIMEOUT ?= 75m

.PHONY: all build release deps test unit compat e2e bench fuzz fuzz-short demo lint clean kube

all: build

build: $(PROBE) $(SHIM)
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/berth

$(PROBE): probeagent/agent.c
	@mkdir -p bin
	$(CC) $(PROBE_CFLAGS) -o $@ probeagent/agent.c

$(SHIM): shimwrap/shim.c
	@mkdir -p bin
	$(CC) $(PROBE_CFLAGS) -o $@ shimwrap/shim.c

## release: static berth binaries and offline install archives (with containerd, its shim and
## runc) for RELEASE_ARCHES, and SHA256SUMS, into dist/; see scripts/release.sh. The containerd
## cross builds are cached in /usr/local/lib/berth: the first run takes some minutes per architecture
RELEASE_ARCHES ?= amd64 arm64 armv7
release:
	GO=$(GO) scripts/release.sh $(VERSION) $(RELEASE_ARCHES)

## deps: install runc, containerd and the test tools (idempotent; needs root)
deps:
	scripts/install-deps.sh

## kube: build the single-node Kubernetes (etcd, control plane, kubelet, kube-proxy, kubectl, CoreDNS) that the
## cluster e2e tests start with scripts/kube-cluster.sh; cached in /usr/local/lib/berth/kube-<release>
## (cold ~9-13 min on 2 cores, then skipped; scripts/build-kube.sh -f rebuilds)
kube:
	scripts/build-kube.sh

## test: unit tests, a short run of the fuzz targets, the compose conformance suite, and the e2e tests
## against a real containerd and a real single-node Kubernetes (built once by `make kube`)
test: deps build kube unit fuzz-short compat e2e

unit: lint
	$(GO) test -count=1 ./...

compat: build
	@test -x $(COMPAT) || { echo "compat suite not found at $(COMPAT) (set COMPAT=path/to/compat.sh)"; exit 1; }
	$(COMPAT) ./$(BIN)

## e2e: the Kubernetes tests (TestKube*) run on their own afterwards, so that the cluster they share
## (scripts/kube-cluster.sh, started by the first of them) is up only while they run
e2e: build
	$(GO) test -count=1 -tags e2e -timeout $(E2E_TIMEOUT) -skip '^TestKube' ./containerd/... ./netbridge/... ./e2e/...
	$(GO) test -count=1 -tags e2e -timeout 30m -run '^TestKube' ./e2e/

## bench: speed figures (medians of BENCH_RUNS runs) against a real containerd; see docs/benchmarks.md.
## BENCH picks benchmarks (a -bench pattern: BENCH=Stacks for only the shared reference stacks);
## BENCH_STACKS is where those stacks are (mkimage.py, stacks/), skipped with a message when absent
BENCH_RUNS   ?= 5
BENCH        ?= .
BENCH_STACKS ?= ../shared/bench
bench: deps build
	BENCH_STACKS=$(abspath $(BENCH_STACKS)) $(GO) test -tags e2e -run '^$$' -bench '$(BENCH)' -benchtime $(BENCH_RUNS)x -count 1 -timeout 90m ./e2e/ | grep -v '^\(goos\|goarch\|pkg\):'

## fuzz: every Go fuzz target (func Fuzz...) for FUZZTIME each; the seeds are committed
## under each package's testdata/fuzz, and a failing input is written there
FUZZTIME ?= 60s
fuzz:
	GO=$(GO) scripts/fuzz.sh $(FUZZTIME)

## fuzz-short: the same targets for a fixed number of inputs each, as `make test` (and CI) runs them:
## a count, not a time, so a slow or busy machine does not change what is checked
FUZZ_SHORT ?= 500x
fuzz-short:
	GO=$(GO) scripts/fuzz.sh $(FUZZ_SHORT)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt wants to rewrite:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin dist

## demo: build and run examples/edge-stack (PostgreSQL, Python worker, Node.js api); see scripts/demo.sh
demo: deps build
	scripts/demo.sh
