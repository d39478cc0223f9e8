#!/usr/bin/env bash
# Installs exactly the Debian 12 packages exphone needs to build, test and benchmark.
# Idempotent: packages already present are not touched. Must run as root (apt-get).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache clang libclang-rt-14-dev
  # libraries (see ../docs/design or DESIGN.md: dependencies)
  libssl-dev libsrtp2-dev libboost-dev libcli11-dev nlohmann-json3-dev
  libtomlplusplus-dev libfmt-dev libc-ares-dev
  # HTTPS client for provisioning (src/provisioning)
  libcurl4-openssl-dev
  # captures read by exphone diag (pcap and pcapng)
  libpcap-dev
  # media: G.722 (spandsp), Opus, WAV files, ALSA (optional backend)
  libspandsp-dev libopus-dev libsndfile1-dev libasound2-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # peers for the side-by-side parser benchmark
  libosip2-dev libre-dev libsofia-sip-ua-dev
  # real peers for interop tests (tests/interop: Kamailio registrar with TLS/mTLS and SIP over
  # WebSocket, SIPp + sipsak as third-party REGISTER clients, openssl CLI for the test PKI and
  # probes, python3 for the harness)
  kamailio kamailio-tls-modules kamailio-websocket-modules sip-tester sipsak openssl python3
  # baresip as the far-end phone for calls through Kamailio (SDES SRTP)
  baresip-core
  # a device clock in 1970 for the certificate-date tests
  faketime
  # an HTTPS provisioning server with client certificates (tests/interop/test_provisioning.py)
  nginx-light
  # a real Prometheus server scraping the phones' /metrics (tests/interop/test_prometheus.py)
  prometheus
  # the power-loss test kills `exphone provision` at each file-system step (strace -e inject)
  strace
  # an NTP server on loopback for the trusted-clock test (tests/interop/test_clock.py)
  chrony
  # a DNS server on loopback with NAPTR/SRV records (RFC 3263 tests)
  dnsmasq-base
  # attack tools against a running phone (tests/interop/test_robust_scan.py): svmap, svwar, svcrack
  sipvicious
  # captures: no cleartext SIP or audio on the wire during a secure call
  tshark
  # tc and ip for the private network namespaces of the tests and the one-way-audio firewall of
  # tests/interop/test_diag.py (a BPF classifier built with clang)
  iproute2
  # the time-to-ring plot of bench/time_to_ring.py (PNG, no X11)
  gnuplot-nox
  # packaging test (tests/packaging): dpkg-shlibdeps for the .deb's Depends, systemd-analyze
  # verify and systemd-sysusers for the unit and the system user
  dpkg-dev systemd
  # WebRTC dispatch console for the DTLS-SRTP/ICE/WSS tests: headless Chromium driven by
  # playwright-core, its NSS trust store set up with certutil
  chromium libnss3-tools
)
# Node.js for the console's driver: Debian's nodejs + npm unless a Node.js with npm is already
# installed (a NodeSource nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
fi

echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The tests start their own nginx, chrony and Kamailio on loopback: packages must not start system
# services while installing (policy-rc.d, as in Debian's build chroots), removed again on exit.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# tshark's package asks whether non-root users may capture: no
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

