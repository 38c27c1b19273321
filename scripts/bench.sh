#!/usr/bin/env bash
# scripts/bench.sh NAME — builds Benchmarks/ in release mode and runs NAME's
# benchmark, which writes its section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
case "${1:-}" in
  storage) product=StorageBenchmark ;;
  mesh) product=MeshBenchmark ;;
  cluster) product=ClusterBenchmark ;;
  workspace) product=WorkspaceBenchmark ;;
  llm) product=LLMBenchmark ;;
  agents) product=AgentsBenchmark ;;
  gateway) product=GatewayBenchmark ;;
  e2e) product=GatewayBenchmark ;;
  *) echo "usage: scripts/bench.sh storage|mesh|cluster|workspace|llm|agents|gateway|e2e" >&2; exit 2 ;;
esac
cd Benchmarks
# A new source file in the parent package is missed by a cached build plan.
rm -f .build/release.yaml .build/release/description.json
swift build -c release --product "$product"
# The workspace benchmark runs git through the helper, found next to it.
if [ "$1" = workspace ]; then swift build -c release --product hma-git; fi
# The cluster benchmark starts node processes from this binary.
if [ "$1" = cluster ]; then swift build -c release --product hma-bench-node; fi
# The gateway and end-to-end benchmarks run `hma` (release) as the servers.
if [ "$1" = gateway ] || [ "$1" = e2e ]; then swift build -c release --product hma && swift build -c release --product hma-git; fi
# The LLM benchmark's peer: OpenAI's Python SDK, from PyPI into the build folder.
if [ "$1" = llm ]; then
  peer="$root/Benchmarks/.build/python-peer"
  if [ ! -d "$peer/site/openai" ]; then
    mkdir -p "$peer"
    python3 -m pip install -q --target "$peer/site" openai==1.109.1 \
      || python3 -m pip install -q --break-system-packages --target "$peer/site" openai==1.109.1
  fi
  cp "$root/Benchmarks/Peers/openai_peer.py" "$peer/"
  export BENCH_PYTHON_PEER="$peer"
fi
# The gateway benchmark's peer: python-socketio on aiohttp, from PyPI into the build folder.
if [ "$1" = gateway ]; then
  peer="$root/Benchmarks/.build/python-socketio"
  pins="python-socketio==5.18.1 python-engineio==4.15.1 aiohttp==3.14.5"
  if [ ! -f "$peer/site/.pins" ] || [ "$(cat "$peer/site/.pins")" != "$pins" ]; then
    rm -rf "$peer/site"
    mkdir -p "$peer"
    python3 -m pip install -q --target "$peer/site" $pins \
      || python3 -m pip install -q --break-system-packages --target "$peer/site" $pins
    echo "$pins" > "$peer/site/.pins"
  fi
  cp "$root/Benchmarks/Peers/socketio_echo.py" "$peer/"
  export BENCH_PYTHON_PEER="$peer"
  # 5,000 sockets each side (the benchmark also raises its soft limit).
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
# The end-to-end benchmark is a mode of the gateway benchmark's binary.
mode=(); [ "$1" = e2e ] && mode=(e2e)
BENCH_DOCS="$root/docs/benchmarks.md" "$(swift build -c release --show-bin-path)/$product" "${mode[@]}"
