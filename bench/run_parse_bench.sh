#!/usr/bin/env bash
# Side-by-side SIP parser benchmark: builds the release benchmark, runs it pinned to one core,
# and prints the median per parser and message plus exphone's speed-up over the fastest peer.
# Repetitions of all benchmarks are interleaved at random, so a noisy neighbour on a shared machine
# slows every parser alike instead of one of them.
# Usage: bench/run_parse_bench.sh [repetitions]   (default 9)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DEXPHONE_BENCH=ON -DEXPHONE_TESTS=OFF >/dev/null
ninja -C build-bench -j"${JOBS:-$(nproc)}" sip_parse_bench >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cpu=$(( $(nproc) - 1 ))
taskset -c "$cpu" build-bench/bench/sip_parse_bench --benchmark_repetitions="${1:-9}" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_format=json --benchmark_out="$out" \
  --benchmark_out_format=json >/dev/null
python3 - "$out" <<'PY'
import json, sys
rows = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    _, parser, msg = b["run_name"].split("/")
    rows.setdefault(msg, {})[parser] = b["cpu_time"]  # ns
parsers = ["exphone", "osip2", "libre", "sofia"]
print(f"{'message':<14}" + "".join(f"{p:>10}" for p in parsers) + f"{'speed-up':>22}")
worst = None
for msg, r in rows.items():
    best_peer = min((r[p], p) for p in parsers[1:])
    ratio = best_peer[0] / r["exphone"]
    worst = ratio if worst is None else min(worst, ratio)
    print(f"{msg:<14}" + "".join(f"{r[p]/1000:>9.2f}u" for p in parsers) + f"   {ratio:5.2f}x vs {best_peer[1]}")
print(f"median CPU time per parse (us), one core; worst speed-up {worst:.2f}x (target >= 2.00x)")
PY
