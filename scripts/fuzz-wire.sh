#!/usr/bin/env bash
# make fuzz-wire [FUZZ_SECONDS=300]: builds Fuzz/ with libFuzzer and
# AddressSanitizer (leak detection included) and fuzzes the mesh decoders.
# Findings (crash-*, leak-*, timeout-*) are written to Fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds="${FUZZ_SECONDS:-300}"
swift build -c release --sanitize=fuzzer --sanitize=address --product WireFuzzer
bin="$(swift build -c release --sanitize=fuzzer --sanitize=address --show-bin-path)/WireFuzzer"
mkdir -p corpus findings
"$bin" corpus -max_total_time="$seconds" -max_len=4096 -timeout=5 -rss_limit_mb=2048 \
  -artifact_prefix=findings/ -print_final_stats=1 2>&1 | tail -n 25
