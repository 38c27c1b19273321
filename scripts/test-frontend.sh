#!/usr/bin/env bash
# The web IDE's tests (frontend/README.md):
#   unit  the protocol client, reducers and pure UI logic with `node --test`
#         (each test file bundled by esbuild first);
#   e2e   a real `hma dev` with the demo model driven through headless
#         Chromium by Playwright for Python (frontend/tests/e2e/).
# With no argument, both. Two more uses of the same browser set-up, not tests:
#   bench       `make bench-ide`: load time, bundle size, frame time while
#               streaming (frontend/bench/ide_bench.py; writes docs/benchmarks.md);
#   screenshot [FILE]  the top-level README's picture of the IDE after a demo
#               run (frontend/bench/ide_screenshot.py; default docs/images/ide.png).
# Build first: `make frontend` (the Makefile's test-frontend and bench-ide
# targets do). Environment for e2e: HMA_BIN (default .build/debug/hma),
# HMA_E2E_OUTPUT (screenshots; default a temp folder).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
FRONTEND=$ROOT/frontend
CACHE=$FRONTEND/.cache
what=${1:-all}

unit() {
  "$ROOT/scripts/install-system-packages.sh" esbuild node-react node-react-dom
  local out=$CACHE/unit-tests
  rm -rf "$out"
  mkdir -p "$out"
  NODE_PATH=/usr/share/nodejs nice -n 10 esbuild "$FRONTEND"/tests/unit/*.test.ts \
    --bundle --platform=node --format=cjs --target=node18 --outdir="$out" --log-level=warning \
    --define:__HMA_BACKEND_URL__='""' --define:__HMA_MONACO_VS__='"vs"'
  node --test "$out"/
}

# Runs a Python script with Playwright for Python, pinned, in frontend/.cache/e2e-venv;
# its driver runs the system Chromium (no browser download).
playwright_python() {
  "$ROOT/scripts/install-system-packages.sh" chromium python3 python3-venv
  [ -f "$FRONTEND/dist/index.html" ] || { echo "error: build the frontend first (make frontend)" >&2; exit 1; }
  local venv=$CACHE/e2e-venv
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import playwright" 2>/dev/null; then
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$FRONTEND/tests/e2e/requirements.txt"
  fi
  "$venv/bin/python" "$@"
}

e2e() { playwright_python "$FRONTEND/tests/e2e/ide_test.py"; }

case $what in
  unit) unit ;;
  e2e) e2e ;;
  all) unit && e2e ;;
  bench) playwright_python "$FRONTEND/bench/ide_bench.py" ;;
  screenshot) playwright_python "$FRONTEND/bench/ide_screenshot.py" "${2:-$ROOT/docs/images/ide.png}" ;;
  *) echo "usage: $0 [unit|e2e|all|bench|screenshot [FILE.png]]" >&2; exit 2 ;;
esac
