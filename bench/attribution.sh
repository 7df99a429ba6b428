#!/usr/bin/env bash
# What queue attribution and TCP_INFO sampling cost (issue 30): `mqbench rr` with sampling on (the
# default: every session's socket at each interval and at the end) against `--no-probe`, on a
# 2-queue veth pair with XPS one CPU per queue and the client pinned to CPUs 0,1, at 20 and at
# 10,000 sessions (COUNTS), REPS alternating pairs of SECONDS each; prints the medians of
# transactions/s and the ratio on/off (the budget: at least 0.98). Creates and removes its own
# namespaces. Usage: bench/attribution.sh [SECONDS=3] [REPS=5]   (needs root and jq)
set -euo pipefail
DUR=${1:-3}
REPS=${2:-5}
COUNTS=${COUNTS:-20 10000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
MQB="node $HERE/bin/run.js"
# names and a 198.18.X.0/30 of this run's own: a random byte X
X=$(od -An -tu1 -N1 /dev/urandom | tr -d ' ')
NSA=mqb-attr$X-a NSB=mqb-attr$X-b DEVA=mqbattr${X}a DEVB=mqbattr${X}b
IPA=198.18.$X.1 IPB=198.18.$X.2 TOKEN=attr-$X PORT=12872
SERVER=

cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  wait 2>/dev/null || true
  ip link del "$DEVA" 2>/dev/null || true # still in this namespace when setup failed early
  for ns in "$NSA" "$NSB"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
command -v jq >/dev/null || { echo "bench/attribution.sh needs jq (apt-get install jq)"; exit 1; }
[ -f "$HERE/dist/commands/rr.js" ] || (cd "$HERE" && npm run build >/dev/null)

# Two namespaces joined by a 2-queue veth (the veth testbed's shape, src/testbed/veth.ts), with XPS
# as that testbed sets it: tx-0 <- CPU 0, tx-1 <- CPU 1 on both ends.
ip link add "$DEVA" numtxqueues 2 numrxqueues 2 type veth peer name "$DEVB" numtxqueues 2 numrxqueues 2
for end in "$NSA $DEVA $IPA" "$NSB $DEVB $IPB"; do
  set -- $end
  ip netns add "$1"
  ip link set "$2" netns "$1"
  ip -n "$1" addr add "$3/30" dev "$2"
  ip -n "$1" link set lo up
  ip -n "$1" link set "$2" up
  ip netns exec "$1" sh -c "echo 1 > /sys/class/net/$2/queues/tx-0/xps_cpus; echo 2 > /sys/class/net/$2/queues/tx-1/xps_cpus"
done
ip netns exec "$NSA" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
MQBENCH_TOKEN=$TOKEN $MQB server --netns "$NSB" --bind "$IPB" --port $PORT --max-sessions 100000 >/dev/null 2>&1 &
SERVER=$!
sleep 1

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
run() { # sessions, extra flag -> trans/s
  MQBENCH_TOKEN=$TOKEN $MQB rr --netns "$NSA" --server "$IPB" --port $PORT --sessions "$1" --cpus 0,1 \
    --duration "${DUR}s" --json $2 | jq -r '.transactionsPerSecond'
}
printf '%-9s %-16s %-16s %s\n' sessions 'on (trans/s)' 'off (trans/s)' 'on/off (range)'
for n in $COUNTS; do
  on=() off=()
  for ((i = 0; i < REPS; i++)); do
    on+=("$(run "$n" "")")
    off+=("$(run "$n" --no-probe)")
  done
  mon=$(printf '%s\n' "${on[@]}" | median) moff=$(printf '%s\n' "${off[@]}" | median)
  ratios=$(for ((i = 0; i < REPS; i++)); do echo "${on[$i]} ${off[$i]}" | awk '{printf "%.3f\n", $1/$2}'; done | sort -n)
  printf '%-9s %-16.0f %-16.0f %.3f (%s-%s)\n' "$n" "$mon" "$moff" "$(echo "$mon $moff" | awk '{print $1/$2}')" \
    "$(echo "$ratios" | head -1)" "$(echo "$ratios" | tail -1)"
done
