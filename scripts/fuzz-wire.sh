#!/usr/bin/env bash
# make fuzz-wire [FUZZ_SECONDS=300]: builds Fuzz/ with libFuzzer coverage and
# AddressSanitizer (leak detection included) on the Swift code and fuzzes the
# mesh decoders. The run stops at once if the binary has no coverage.
# Findings (crash-*, leak-*, timeout-*) are written to Fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds="${FUZZ_SECONDS:-300}"
# SwiftPM's `--sanitize=fuzzer --sanitize=address` become two swiftc flags in
# an unstable order and the last one wins, which sometimes left the Swift code
# without coverage counters (libFuzzer then finds nothing). `--sanitize=fuzzer`
# stays (SwiftPM then links libFuzzer's main), and a final comma-separated
# `-sanitize=fuzzer,address` gives coverage and ASan together.
flags=(-c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address)
swift build "${flags[@]}" --product WireFuzzer
bin="$(swift build "${flags[@]}" --show-bin-path)/WireFuzzer"
mkdir -p corpus findings
# An uninstrumented binary reports no coverage: refuse to call that a clean run.
probe=$("$bin" -runs=200 2>&1 || true)
if ! grep -q "cov: " <<<"$probe"; then
  echo "error: $bin has no coverage instrumentation" >&2
  exit 1
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
"$bin" corpus -max_total_time="$seconds" -max_len=4096 -timeout=5 -rss_limit_mb=2048 \
  -artifact_prefix=findings/ -print_final_stats=1 >"$log" 2>&1 || status=$?
# The last status line carries the coverage reached (edges, features, corpus).
grep -E '^#[0-9]+' "$log" | tail -n 1
grep -E '^(stat::|Done |==[0-9]+==ERROR|SUMMARY)' "$log" || true
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz-wire: the fuzzer stopped with status $status; findings in Fuzz/findings/" >&2
fi
exit "$status"
