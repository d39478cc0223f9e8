#!/usr/bin/env bash
# The README's first command: builds exphone (release) and runs the demo — a secure call on
# loopback without a PBX (throwaway CA and device certificates, two phones, mutual TLS 1.3,
# SRTP mandatory, a tone each way detected in the recordings, both call reports).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEXPHONE_TESTS=OFF >/dev/null
ninja -C build -j"$(nproc)" exphone

./build/exphone --version
echo
echo "== exphone demo"
./build/exphone demo
echo
echo "== exphone sip lint samples/invite-srtp.sip"
./build/exphone sip lint samples/invite-srtp.sip
