#!/usr/bin/env bash
# CI's check of the benchmarks (issue "Performance"): bench/run-all --quick runs every measurement
# with its peers (Kamailio, baresip, SIPp, the parser peers, the netns delay line) against the
# Release binary scripts/test.sh builds. It fails when a benchmark could not run; a missed target
# is printed in the table, not a failure: timings on a shared CI machine are not pass/fail.
set -euo pipefail
: "${EXPHONE_PLAIN:?EXPHONE_PLAIN must name the Release exphone (scripts/test.sh sets it)}"
root=$(cd "$(dirname "$0")/../.." && pwd)
# the reports stay in EXPHONE_BENCH_OUT (ctest: <build>/bench-quick) for a look after the run
out=${EXPHONE_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
rm -f "$out"/*.txt "$out"/*.json "$out"/*.png "$out/table.md"
rc=0
"$root/bench/run-all" --quick --exphone "$EXPHONE_PLAIN" --out "$out" > "$out/table.md" || rc=$?
cat "$out/table.md"
for f in "$out"/*.txt; do
  echo "---- $(basename "$f") (last lines)"
  tail -n 15 "$f"
done
# every measurement must have given its rows
for figure in "| SIP parse |" "| SRTP |" "| footprint |" "| start-up |" "| call CPU |" "| time to ring, RTT 600 ms |" "| fleet re-registration |"; do
  grep -qF "$figure" "$out/table.md" || { echo "bench_quick: no '$figure' row in the table"; rc=1; }
done
exit "$rc"
