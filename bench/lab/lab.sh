#!/bin/bash
# A three-host lab in network namespaces with a slow link between the caller and the PBX
# (adapted from the shared interop kit's netdelay lab; this kernel has no sch_netem):
#   ${P}caller 10.200.1.2 (tunC) ==[tundelay.py: delay/loss/jitter]== 10.200.1.1 (tunP) ${P}pbx, 10.200.0.1 on lo
#   ${P}pbx 10.200.2.1 ----veth, no delay---- 10.200.2.2 ${P}callee
# usage: lab.sh up [ONE_WAY_MS [LOSS_PERCENT [JITTER_MS]]] | delay ONE_WAY_MS [LOSS [JITTER]] | down
# Env: LAB_PREFIX (required: a unique prefix, e.g. "ttr$$-"), LAB_STATE (pid/log folder; default
# ${TMPDIR:-/tmp}/${LAB_PREFIX}state). Run a program on a host with: ip netns exec ${P}caller PROGRAM.
# Only loopback, TUN and veth devices inside these namespaces: no traffic leaves them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
P=${LAB_PREFIX:?set LAB_PREFIX to a unique namespace prefix}
S=${LAB_STATE:-${TMPDIR:-/tmp}/${P}state}
mkdir -p "$S"
ns() { ip netns exec "$P$1" "${@:2}"; }
stop_delay() {
  if [[ -f $S/tundelay.pid ]]; then
    pid=$(cat "$S/tundelay.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    rm -f "$S/tundelay.pid"
  fi
}
delay() {
  stop_delay
  python3 "$here/tundelay.py" "${P}caller" tunC "${P}pbx" tunP "${1:-300}" "${2:-0}" "${3:-0}" >>"$S/tundelay.log" 2>&1 &
  echo $! >"$S/tundelay.pid"
  # ready when it has printed its line for this start
  for _ in $(seq 100); do
    [[ $(tail -1 "$S/tundelay.log" 2>/dev/null) == "tundelay: ${P}caller/tunC"*"one-way ${1:-300} ms"* ]] && break
    sleep 0.05
  done
  tail -1 "$S/tundelay.log"
}
case ${1:-} in
  up)
    for n in caller pbx callee; do ip netns add "$P$n"; ns $n ip link set lo up; done
    ns pbx ip addr add 10.200.0.1/32 dev lo
    ns pbx sysctl -qw net.ipv4.ip_forward=1
    ns pbx ip link add vpc type veth peer name vcp
    ns pbx ip link set vcp netns "${P}callee"
    ns pbx ip addr add 10.200.2.1/24 dev vpc; ns pbx ip link set vpc up
    ns callee ip addr add 10.200.2.2/24 dev vcp; ns callee ip link set vcp up
    ns callee ip route add 10.200.0.0/16 via 10.200.2.1
    ns caller ip tuntap add dev tunC mode tun
    ns pbx ip tuntap add dev tunP mode tun
    ns caller ip addr add 10.200.1.2/24 dev tunC; ns caller ip link set tunC up
    ns caller ip route add 10.200.0.0/16 dev tunC
    ns pbx ip addr add 10.200.1.1/24 dev tunP; ns pbx ip link set tunP up
    delay "${2:-300}" "${3:-0}" "${4:-0}";;
  delay) delay "${2:-300}" "${3:-0}" "${4:-0}";;
  down)
    stop_delay
    for n in caller pbx callee; do ip netns del "$P$n" 2>/dev/null || true; done;;
  *) echo "usage: $0 up [ONE_WAY_MS [LOSS [JITTER]]] | delay ONE_WAY_MS [LOSS [JITTER]] | down" >&2; exit 2;;
esac
