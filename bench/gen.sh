#!/usr/bin/env bash
# mqbench gen (packet and xdp backends) vs netsniff-ng's trafgen on the same veth pair: same 60-byte
# frames (64 with FCS, built by mqbench's own frame builder so that all send identical bytes), one
# sender on CPU 0 (trafgen -P 1 pins its worker to CPU 0), qdisc bypassed by trafgen and the packet
# backend (AF_XDP has no qdisc on its path), runs alternating trafgen, packet, xdp. Each tool's
# rate is read from the sender veth's own tx_packets over the same steady window (after 1 s of
# start-up), so neither tool's self-report is trusted. Creates and removes its own namespaces.
#
# SINK=drop (default) addresses the frames to a MAC the peer does not own, so the peer drops them
# at once (PACKET_OTHERHOST) and the figure is the generators' own cost; SINK=stack addresses
# them to the peer, whose UDP stack then receives each one (and answers port-unreachable, rate
# limited) on the sending CPU, since veth runs the receiver's input path there: that cost is the
# same for all tools and dilutes the difference. MQB_ARGS adds flags to the packet backend (e.g.
# --tx-ring), XDP_ARGS to the xdp backend (e.g. --burst 64); BACKENDS="packet" leaves xdp out.
#
#   sudo bench/gen.sh            RUNS=3 SECS=5 SINK=drop by default; run it under the shared lock:
#   flock /tmp/mqbench-net.lock bench/gen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SECS=${SECS:-5}
SINK=${SINK:-drop}
MQB_ARGS=${MQB_ARGS:-}
XDP_ARGS=${XDP_ARGS:-}
BACKENDS=${BACKENDS:-packet xdp}
command -v trafgen >/dev/null || { echo "bench/gen.sh: trafgen is missing (apt-get install netsniff-ng)" >&2; exit 1; }
[ -f dist/native.js ] || { echo "bench/gen.sh: run npm run build first" >&2; exit 1; }

tag=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NA=mqb-b$tag-a NB=mqb-b$tag-b A=mqb${tag}a B=mqb${tag}b
octet=$((16#${tag:0:2}))
IPA=198.18.$octet.1 IPB=198.18.$octet.2
CONF=$(mktemp /tmp/mqb-trafgen-XXXXXX.cfg)
cleanup() {
  ip netns del "$NA" 2>/dev/null || true
  ip netns del "$NB" 2>/dev/null || true
  rm -f "$CONF"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NA"
ip netns add "$NB"
ip link add "$A" type veth peer name "$B"
ip link set "$A" netns "$NA"
ip link set "$B" netns "$NB"
for x in "$NA $A $IPA" "$NB $B $IPB"; do
  set -- $x
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  ip -n "$1" addr add "$3/30" dev "$2"
  ip -n "$1" link set "$2" up
done
MACA=$(ip -n "$NA" -j link show "$A" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0))[0].address)')
MACB=$(ip -n "$NB" -j link show "$B" | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0))[0].address)')

case "$SINK" in
  drop) DSTMAC=02:6d:71:62:ff:fe ;;
  stack) DSTMAC=$MACB ;;
  *) echo "bench/gen.sh: SINK must be drop or stack" >&2; exit 2 ;;
esac

node --input-type=module -e "
import {frames} from './dist/native.js'
const mac = (s) => s.split(':').map((h) => parseInt(h, 16))
const f = frames.build({ipv6: false, srcMac: mac('$MACA'), dstMac: mac('$DSTMAC'), srcIp: '$IPA'.split('.').map(Number), dstIp: '$IPB'.split('.').map(Number), dstPort: 9, frameSize: 60, queue: 0, flow: 0, srcPort: 1024, seq: 0, timeNs: 0n})
console.log('{ ' + [...f].map((b) => '0x' + b.toString(16).padStart(2, '0')).join(', ') + ' }')
" >"$CONF"

tx_packets() { ip netns exec "$NA" cat "/sys/class/net/$A/statistics/tx_packets"; }

# Starts a sender in the background, measures tx_packets from 1 s after its start for SECS s.
# timeout puts the sender in its own process group and signals the whole group (trafgen forks a
# worker), SIGKILL 3 s later if need be, so no sender outlives its window even if this script
# is interrupted; SIGINT would not do: a background job ignores it.
measure() {
  timeout -s TERM -k 3 "$((SECS + 2))" "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep 1
  local c1 t1 c2 t2
  c1=$(tx_packets); t1=$(date +%s.%N)
  sleep "$SECS"
  c2=$(tx_packets); t2=$(date +%s.%N)
  wait "$pid" 2>/dev/null || true
  echo "$c1 $c2 $t1 $t2" | awk '{printf "%.0f\n", ($2 - $1) / ($4 - $3)}'
}

declare -A res=([trafgen]='' [packet]='' [xdp]='')
gen_cmd() {
  local backend=$1 extra=$MQB_ARGS
  [ "$backend" = xdp ] && extra=$XDP_ARGS
  echo node bin/run.js gen --backend "$backend" --netns "$NA" --dev "$A" --queues 1 --cpus 0 --frame-size 60 \
    --dst-mac "$DSTMAC" $extra --src-ip "$IPA" --dst-ip "$IPB" --duration "$((SECS + 2))s"
}
for i in $(seq 1 "$RUNS"); do
  line="run $i:"
  res[trafgen]+=" $(measure ip netns exec "$NA" trafgen -o "$A" -i "$CONF" -P 1 --no-sock-mem -Q -C)"
  line+=" trafgen ${res[trafgen]##* } pps"
  for b in $BACKENDS; do
    # shellcheck disable=SC2046 # gen_cmd prints words meant to be split
    res[$b]+=" $(measure $(gen_cmd "$b"))"
    line+=", mqbench gen $b ${res[$b]##* } pps"
  done
  echo "$line"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# shellcheck disable=SC2086 # the lists are space-separated on purpose
mt=$(median ${res[trafgen]})
echo "trafgen:            median $mt pps (runs:${res[trafgen]})"
for b in $BACKENDS; do
  # shellcheck disable=SC2086
  mm=$(median ${res[$b]})
  # shellcheck disable=SC2086
  rr=$(paste -d' ' <(printf '%s\n' ${res[$b]}) <(printf '%s\n' ${res[trafgen]}) | awk '{printf "%.2f\n", $1 / $2}' | sort -n | tr '\n' ' ')
  printf 'mqbench gen %-6s median %s pps (runs:%s)\n' "$b:" "$mm" "${res[$b]}"
  awk -v a="$mm" -v b="$mt" -v be="$b" -v rr="$rr" -v args="$([ "$b" = xdp ] && echo "$XDP_ARGS" || echo "$MQB_ARGS")" \
    'BEGIN {printf "ratio mqbench %s/trafgen: %.2f (per-run ratios: %s; 60-byte frames + FCS, 1 queue, CPU 0, veth, SINK='"$SINK"' %s)\n", be, a / b, rr, args}'
done
