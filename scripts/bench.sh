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
  *) echo "usage: scripts/bench.sh storage|mesh|cluster|workspace" >&2; exit 2 ;;
esac
cd Benchmarks
# A new source file in the parent package is missed by a cached build plan.
rm -f .build/release.yaml .build/release/description.json
swift build -c release --product "$product"
# The cluster benchmark starts node processes from this binary.
if [ "$1" = cluster ]; then swift build -c release --product hma-bench-node; fi
BENCH_DOCS="$root/docs/benchmarks.md" "$(swift build -c release --show-bin-path)/$product"
