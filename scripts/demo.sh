#!/usr/bin/env bash
# The README's first command: builds exphone (release) and runs the demo.
#
# Until the call layer lands, the demo is honest about what exists: it prints the version and
# lints a sample INVITE carrying an SRTP offer (SIP parse + UAS verdict + SDP with a=crypto).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEXPHONE_TESTS=OFF >/dev/null
ninja -C build -j"$(nproc)" exphone

./build/exphone --version
echo
echo "== exphone sip lint samples/invite-srtp.sip"
./build/exphone sip lint samples/invite-srtp.sip
echo
echo "== exphone sdp lint samples/offer-srtp.sdp"
./build/exphone sdp lint samples/offer-srtp.sdp
echo
echo "demo: parser only — secure calls (TLS + SRTP) are not implemented yet"
