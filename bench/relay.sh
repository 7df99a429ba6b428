#!/usr/bin/env bash
# The tap relay (mqbench's userspace virtio-net backend) at 1 and 2 queue pairs, with iperf3
# through the tap testbed, against a veth testbed (the kernel-only path) as the reference:
#   tap, 1 queue   vs  tap, 2 queues   vs  veth, 2 queues
# Each configuration is run REPS times, alternating (runs vary 15-30% on a VM), with P parallel
# TCP streams; the medians, ranges and the 2-queue / 1-queue ratio are printed. Retransmits are
# printed too: without vnet_hdr + offloads a relay shows tens of thousands (docs/platform.md).
# Usage: bench/relay.sh [SECONDS_PER_RUN=5] [REPS=3] [STREAMS=8]   (needs root, iperf3, jq)
set -euo pipefail
DUR=${1:-5}
REPS=${2:-3}
P=${3:-8}
HERE=$(cd "$(dirname "$0")/.." && pwd)
MQB="node $HERE/bin/run.js"
TAG=$(head -c2 /dev/urandom | od -An -tx1 | tr -d ' \n')
NAMES=()

cleanup() {
  for n in "${NAMES[@]}"; do $MQB testbed down "$n" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT INT TERM

for c in iperf3 jq; do command -v $c >/dev/null || { echo "bench/relay.sh needs $c (apt-get install $c)"; exit 1; }; done
[ -f "$HERE/dist/commands/testbed/up.js" ] || (cd "$HERE" && npm run build >/dev/null)

# one run: testbed up (detached), iperf3 A -> B, testbed down; prints "gbps retransmits"
one() { # kind queues
  local name="b$TAG$1${2}" rec ipb
  name=${name:0:9}
  NAMES+=("$name")
  rec=$($MQB testbed up "$name" --kind "$1" --max-queues 2 --queues "$2" --detach --json)
  ipb=$(jq -r .ipB <<<"$rec")
  ip netns exec "mqb-$name-b" iperf3 -s -1 -B "$ipb" >/dev/null 2>&1 &
  sleep 0.3
  ip netns exec "mqb-$name-a" iperf3 -c "$ipb" -t "$DUR" -P "$P" -J |
    jq -r '"\(.end.sum_received.bits_per_second / 1e9) \(.end.sum_sent.retransmits // 0)"'
  wait || true
  $MQB testbed down "$name" >/dev/null
}

median() { grep -v '^ *$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
range() { grep -v '^ *$' | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}'; }

declare -A G R
CONFIGS=("tap 1" "tap 2" "veth 2")
for ((i = 1; i <= REPS; i++)); do
  for cfg in "${CONFIGS[@]}"; do
    read -r gbps retr < <(one $cfg)
    G[$cfg]+="$gbps"$'\n'
    R[$cfg]+="$retr"$'\n'
    printf 'rep %d  %-7s %6.2f Gbit/s  %6d retransmits\n' "$i" "$cfg" "$gbps" "$retr"
  done
done

echo "--- medians over $REPS runs of ${DUR}s, $P TCP streams"
for cfg in "${CONFIGS[@]}"; do
  printf '%-7s %6.2f Gbit/s (range %s)  retransmits median %s\n' "$cfg" \
    "$(median <<<"${G[$cfg]}")" "$(range <<<"${G[$cfg]}")" "$(median <<<"${R[$cfg]}")"
done
awk -v a="$(median <<<"${G[tap 2]}")" -v b="$(median <<<"${G[tap 1]}")" 'BEGIN {printf "tap 2 queues / 1 queue: %.2f\n", a / b}'
