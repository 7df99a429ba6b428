#!/usr/bin/env bash
# mqbench rr/stream against their Debian peers on the same namespace pair, in the same run:
#   rr 1 session            vs  sockperf ping-pong --tcp --full-rtt
#   rr 20 sessions          vs  20 parallel sockperf ping-pong clients (one sockperf server)
#   stream 1/2/20 sessions  vs  iperf3 -P 1/2/20
# Each pair is run REPS times, alternating mqbench and the peer (runs vary 15-30% on a VM, so one
# pair of runs says little); the medians and their ratio are printed. Then the cost of many
# sessions: rr with 100, 1,000 and 10,000 sessions (SCALE_COUNTS), each run REPS times for
# SECONDS, printing the client's wall time beyond the window (start-up, connection ramp, results),
# the ramp alone and the client's peak RSS (medians). Creates and removes its own namespaces.
# Usage: bench/sessions.sh [SECONDS_PER_RUN=5] [REPS=3] [SECTIONS="peers scale"]   (needs root)
set -euo pipefail
DUR=${1:-5}
REPS=${2:-3}
SECTIONS=${3:-peers scale}
SCALE_COUNTS=${SCALE_COUNTS:-100 1000 10000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
MQB="node $HERE/bin/run.js"
TAG=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
NSA=mqb-bench$TAG-a NSB=mqb-bench$TAG-b DEVA=mqb${TAG}a DEVB=mqb${TAG}b
OCT=$((16#${TAG:0:2}))
IPA=198.18.$OCT.1 IPB=198.18.$OCT.2
TOKEN=bench-$TAG
MQB_PORT=12866 MQB_PINNED_PORT=12867 MQB_SCALE_PORT=12868 SP_PORT=11111 SP_MULTI_PORT=11200 IP3_PORT=5201
NCPU=$(nproc)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
  rm -f "${FEED:-}"
}
trap cleanup EXIT INT TERM

for c in sockperf iperf3 jq /usr/bin/time; do command -v $c >/dev/null || { echo "bench/sessions.sh needs $c (apt-get install $c)"; exit 1; }; done
[ -f "$HERE/dist/commands/rr.js" ] || (cd "$HERE" && npm run build >/dev/null)

ip netns add "$NSA"; ip netns add "$NSB"
ip -n "$NSA" link set lo up; ip -n "$NSB" link set lo up
ip link add "$DEVA" numtxqueues 2 numrxqueues 2 netns "$NSA" type veth peer name "$DEVB" numtxqueues 2 numrxqueues 2 netns "$NSB"
ip -n "$NSA" addr add "$IPA/30" dev "$DEVA"; ip -n "$NSB" addr add "$IPB/30" dev "$DEVB"
ip -n "$NSA" link set "$DEVA" up; ip -n "$NSB" link set "$DEVB" up

MQBENCH_TOKEN=$TOKEN $MQB server --netns "$NSB" --bind "$IPB" --port $MQB_PORT >/dev/null 2>&1 & PIDS+=($!)
MQBENCH_TOKEN=$TOKEN $MQB server --netns "$NSB" --bind "$IPB" --port $MQB_SCALE_PORT --max-sessions 100000 >/dev/null 2>&1 & PIDS+=($!)
# Single-session round trips depend mostly on where the two ends run (FACTS.md: ~12 us on one
# vCPU, ~55 us across two), so for that pair both tools run pinned alike: servers on the last CPU,
# clients on CPU 0.
SRV_CPU=$((NCPU - 1))
MQBENCH_TOKEN=$TOKEN taskset -c $SRV_CPU $MQB server --netns "$NSB" --bind "$IPB" --port $MQB_PINNED_PORT >/dev/null 2>&1 & PIDS+=($!)
# The peer at its best for each case: for one client sockperf's default blocking server; for many,
# its epoll server with one thread per CPU, each on its own port (sockperf needs a socket per
# thread), clients spread over the ports.
ip netns exec "$NSB" taskset -c $SRV_CPU sockperf server --tcp -i "$IPB" -p $SP_PORT >/dev/null 2>&1 & PIDS+=($!)
FEED=$(mktemp)
for i in $(seq 0 $((NCPU - 1))); do echo "T:$IPB:$((SP_MULTI_PORT + i))"; done >"$FEED"
ip netns exec "$NSB" sockperf server -f "$FEED" -F epoll --threads-num "$NCPU" >/dev/null 2>&1 & PIDS+=($!)
ip netns exec "$NSB" iperf3 -s -B "$IPB" -p $IP3_PORT >/dev/null 2>&1 & PIDS+=($!)
sleep 2

export MQBENCH_TOKEN=$TOKEN
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mqb_rr() { # sessions [extra flags] -> "tps p50 p99"; one session runs pinned (see above)
  local n=$1; shift
  local pin=() port=$MQB_PORT
  if [ "$n" -eq 1 ]; then pin=(taskset -c 0); port=$MQB_PINNED_PORT; fi
  "${pin[@]}" $MQB rr --netns "$NSA" --server "$IPB" --port $port --sessions "$n" "$@" --request-size 64 --response-size 64 --duration "${DUR}s" --json |
    jq -r '"\(.transactionsPerSecond) \(.latency.p50) \(.latency.p99)"'
}
sockperf_one() { # port -> "tps p50 p99" of one client (valid-duration messages / runtime; full round trip)
  ip netns exec "$NSA" ${PIN:-} sockperf ping-pong --tcp --full-rtt -i "$IPB" -p "$1" -m 64 -t "$DUR" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | awk '
    /\[Valid Duration\]/ { for (i = 1; i <= NF; i++) { if ($i ~ /^RunTime=/) { sub("RunTime=", "", $i); rt = $i } if ($i ~ /^ReceivedMessages=/) { sub("ReceivedMessages=", "", $i); n = $i } } }
    /percentile 50.000/ { p50 = $NF } /percentile 99.000/ { p99 = $NF }
    END { printf "%f %s %s\n", n / rt, p50, p99 }'
}
sockperf_n() { # clients -> "tps p50 p99": summed rate, median of the clients' percentiles
  local dir; dir=$(mktemp -d)
  if [ "$1" -eq 1 ]; then PIN="taskset -c 0" sockperf_one $SP_PORT >"$dir/1"
  else for i in $(seq 1 "$1"); do sockperf_one $((SP_MULTI_PORT + i % NCPU)) >"$dir/$i" & done; wait; fi
  printf '%s %s %s\n' "$(cat "$dir"/* | awk '{ t += $1 } END { printf "%f", t }')" \
    "$(cat "$dir"/* | awk '{ print $2 }' | median)" "$(cat "$dir"/* | awk '{ print $3 }' | median)"
  rm -rf "$dir"
}
mqb_stream() { # sessions -> gbps
  $MQB stream --netns "$NSA" --server "$IPB" --port $MQB_PORT --sessions "$1" --message-size 131072 --duration "${DUR}s" --json | jq -r '.gbps'
}
iperf_stream() { # streams -> gbps (received)
  ip netns exec "$NSA" iperf3 -c "$IPB" -p $IP3_PORT -P "$1" -t "$DUR" -J | jq -r '.end.sum_received.bits_per_second / 1e9'
}

pair() { # label unit mqb-command peer-command; columns after the first are latency (us)
  local label=$1 unit=$2 ours=$3 peer=$4 a=() b=()
  for r in $(seq 1 "$REPS"); do a+=("$($ours)"); b+=("$($peer)"); done
  local ma mb
  ma=$(printf '%s\n' "${a[@]}" | awk '{print $1}' | median); mb=$(printf '%s\n' "${b[@]}" | awk '{print $1}' | median)
  local lat=""
  if [ -n "$(printf '%s\n' "${a[0]}" | awk '{print $2}')" ]; then
    lat=$(printf '  p50 %s/%s us  p99 %s/%s us' \
      "$(printf '%s\n' "${a[@]}" | awk '{print $2}' | median)" "$(printf '%s\n' "${b[@]}" | awk '{print $2}' | median)" \
      "$(printf '%s\n' "${a[@]}" | awk '{print $3}' | median)" "$(printf '%s\n' "${b[@]}" | awk '{print $3}' | median)")
  fi
  printf '%-48s mqbench %12.2f  peer %12.2f %-8s ratio %5.2fx%s\n' "$label" "$ma" "$mb" "$unit" "$(echo "$ma $mb" | awk '{print $1 / $2}')" "$lat"
}

scale() { # sessions -> one line per run: "overhead_s ramp_ms rss_mb"
  local out; out=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$out.time" $MQB rr --netns "$NSA" --server "$IPB" --port $MQB_SCALE_PORT --sessions "$1" --duration "${DUR}s" --json >"$out" 2>/dev/null || { echo "rr --sessions $1 failed" >&2; rm -f "$out" "$out.time"; return 1; }
  read -r wall rss <"$out.time"
  printf '%s %s %s\n' "$(echo "$wall $DUR" | awk '{print $1 - $2}')" "$(jq -r '.connectMs' "$out")" "$(echo "$rss" | awk '{print $1 / 1024}')"
  rm -f "$out" "$out.time"
}

if [[ " $SECTIONS " == *" peers "* ]]; then
echo "mqbench sessions vs peers: veth pair (2 queues) between $NSA and $NSB, ${DUR}s runs, median of $REPS alternating runs, $NCPU CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
pair "rr tcp 1 session (pinned 0/$SRV_CPU) vs sockperf" "trans/s" "mqb_rr 1" "sockperf_n 1"
pair "rr tcp 20 sessions vs 20 sockperf" "trans/s" "mqb_rr 20" "sockperf_n 20"
# 20 sockperf clients are 20 processes; on a shared machine the scheduler gives them 20 shares of
# the CPU against mqbench's one thread per CPU. The same run with one thread per session shows
# how much of a gap is that share rather than the data path.
pair "rr tcp 20 sessions --threads 20 vs 20 sockperf" "trans/s" "mqb_rr 20 --threads 20" "sockperf_n 20"
for n in 1 2 20; do pair "stream tcp $n vs iperf3 -P $n" "Gbit/s" "mqb_stream $n" "iperf_stream $n"; done
echo "(latency columns: mqbench/peer, full round trip; peer 20-client percentiles are the median client's)"
fi

if [[ " $SECTIONS " == *" scale "* ]]; then
  echo "mqbench rr, many sessions: ${DUR}s window, median of $REPS runs each, $NCPU CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-10s %18s %14s %16s\n' sessions "wall overhead s" "ramp ms" "client RSS MB"
  for n in $SCALE_COUNTS; do
    runs=()
    for r in $(seq 1 "$REPS"); do runs+=("$(scale "$n")"); done
    col() { printf '%s\n' "${runs[@]}" | awk -v c="$1" '{print $c}' | median; }
    printf '%-10s %18.2f %14.0f %16.0f\n' "$n" "$(col 1)" "$(col 2)" "$(col 3)"
  done
  echo "(wall overhead: the client's wall time beyond the window: start-up, connection ramp, stop, results)"
fi
