#!/usr/bin/env bash
# SRTP packet path, side by side (issue "Performance", measurement 3): protect + unprotect of a
# 172-byte and a 1200-byte RTP packet through exphone's SrtpSession, through libsrtp2 directly
# (with the OpenSSL primitives exphone installs, and as Debian packaged it, with NSS's), and the same AES-CTR + HMAC-SHA1 / AES-GCM work done with OpenSSL EVP (the floor). Release build,
# pinned to one core, repetitions interleaved at random; prints medians and the ratios.
# Usage: bench/run_srtp_bench.sh [repetitions]   (default 9)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DEXPHONE_BENCH=ON -DEXPHONE_TESTS=OFF >/dev/null
ninja -C build-bench -j"${JOBS:-$(nproc)}" srtp_bench >/dev/null
out=$(mktemp) packaged=$(mktemp)
trap 'rm -f "$out" "$packaged"' EXIT
cpu=$(( $(nproc) - 1 ))
common=(--benchmark_repetitions="${1:-9}" --benchmark_enable_random_interleaving=true
        --benchmark_report_aggregates_only=true --benchmark_format=json --benchmark_out_format=json)
# Debian's libsrtp2 with its own (NSS) primitives, in a process where exphone never initialised it;
# then exphone, libsrtp2 called directly with the OpenSSL primitives exphone installs, and the floor.
taskset -c "$cpu" build-bench/bench/srtp_bench "${common[@]}" --benchmark_filter=packaged \
  --benchmark_out="$packaged" >/dev/null
taskset -c "$cpu" build-bench/bench/srtp_bench "${common[@]}" --benchmark_filter='exphone|libsrtp2|floor' \
  --benchmark_out="$out" >/dev/null
python3 - "$out" "$packaged" <<'PY'
import json, sys
rows = {}
for path in sys.argv[1:]:
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        if b.get("error_occurred"):
            sys.exit(f"srtp_bench: {b['run_name']}: {b.get('error_message')}")
        name, suite, size = b["run_name"].split("/")
        rows.setdefault((suite, size), {})[name[3:]] = b["cpu_time"] / 1000.0  # µs
names = {"0": "AES_CM_128_HMAC_SHA1_80", "1": "AEAD_AES_128_GCM"}
print("| suite | packet | exphone | libsrtp2 (same primitives) | Debian libsrtp2 as packaged (NSS) "
      "| OpenSSL floor | exphone / libsrtp2 | exphone / floor | packaged / floor |")
print("|---|---|---|---|---|---|---|---|---|")
for (suite, size), r in sorted(rows.items()):
    e, l, p, f = r["exphone"], r["libsrtp2"], r["packaged"], r["floor"]
    print(f"| {names[suite]} | {size} B | {e:.2f} µs | {l:.2f} µs | {p:.2f} µs | {f:.2f} µs "
          f"| {e / l:.2f} | {e / f:.2f} | {p / f:.2f} |")
PY
