#!/usr/bin/env bash
# mqbench rr/stream against the peers it can run here, on the same namespace pair, in the same run:
#   rr tcp_rr/udp_rr/tcp_crr, 1 session (pinned) and 20 sessions, each against
#     - the reference floor (bench/ref.c: blocking C client/server, the fewest syscalls a
#       transaction can take; 20 sessions: the sum of 20 reference clients) and
#     - sockperf ping-pong (TCP and UDP; it has no connect-per-transaction test)
#   stream 1/2/20 sessions (128 KiB sends)  vs  iperf3 -P 1/2/20; and both tools with their defaults
# The section "netperf": tcp_rr/udp_rr/tcp_crr 1 session (pinned alike) against netperf 2.7.1's
# TCP_RR/UDP_RR/TCP_CRR, and tcp_rr 20 sessions against neper's `tcp_rr -F 20 -T 2`, both with
# p50/p99, each beside the reference floor; Debian packages neither, so bench/peers.sh builds them
# outside the repository and this script takes them from there ($MQB_PEERS, default
# ${XDG_CACHE_HOME:-~/.cache}/mqbench-peers), from NETPERF=/NETSERVER=/NEPER= paths or from PATH,
# and skips with one line the rows of a peer it cannot find.
# Each pair is run REPS times, alternating mqbench and the peers (runs vary 15-30% on a VM, so one
# pair of runs says little); medians, the range of mqbench's runs and the ratios are printed, then
# syscalls per transaction of each client (strace -c -f; mqbench's count includes node's start-up).
# Then the cost of many sessions: rr with 100, 1,000 and 10,000 sessions (SCALE_COUNTS), each run
# REPS times for SECONDS on loopback (client and server in one namespace) and over the veth pair,
# alternating, printing the client's wall time beyond the window (start-up, connection
# ramp, results), the ramp alone and the client's peak RSS (medians); with neper's tcp_rr (found
# as above), neper on loopback between them, with
# the ratios mqbench/neper (wall overhead, client RSS, trans/s); SCALE_PORT_RANGE="LOW HIGH" sets the
# loopback runs' ip_local_port_range (the kernel's 32768-60999 by default). Creates and removes its own
# namespaces. Usage: bench/sessions.sh [SECONDS_PER_RUN=5] [REPS=3] [SECTIONS="peers netperf scale"]
# Narrower sections for short runs on a shared machine: "single" (the three 1-session rr pairs and
# their syscalls per transaction), "crr" (TCP_CRR with 4 and 20 sessions, default threads).
# (needs root, a C compiler, sockperf, iperf3, strace, jq, /usr/bin/time)
set -euo pipefail
DUR=${1:-5}
REPS=${2:-3}
SECTIONS=${3:-peers netperf scale}
SCALE_COUNTS=${SCALE_COUNTS:-100 1000 10000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
MQB="node $HERE/bin/run.js"
TAG=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
NSA=mqb-bench$TAG-a NSB=mqb-bench$TAG-b DEVA=mqb${TAG}a DEVB=mqb${TAG}b
OCT=$((16#${TAG:0:2}))
IPA=198.18.$OCT.1 IPB=198.18.$OCT.2
TOKEN=bench-$TAG
MQB_PORT=12866 MQB_PINNED_PORT=12867 MQB_SCALE_PORT=12868 MQB_LO_PORT=12869 NEPER_CTL_PORT=12870 NEPER_DATA_PORT=12871 NETSERVER_PORT=12872 SP_PORT=11111 SP_MULTI_PORT=11200 IP3_PORT=5201 SPU_PORT=11112 SPU_MULTI_PORT=11300
# reference servers: one port per client (netserver's process per test); +100: the pinned one
declare -A REF_PORT=([tcp_rr]=13000 [udp_rr]=13200 [tcp_crr]=13400) REF_PINNED_PID=()
NCPU=$(nproc)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
  rm -f "${FEED:-}" "${FEEDU:-}"
  rm -rf "${WORK:-}"
}
trap cleanup EXIT INT TERM

for c in sockperf iperf3 jq strace cc /usr/bin/time; do command -v $c >/dev/null || { echo "bench/sessions.sh needs $c (apt-get install $c)"; exit 1; }; done
PEERS_BIN=${MQB_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/mqbench-peers}/bin
find_peer() { # program -> its path from bench/peers.sh's directory or PATH, or nothing
  if [ -x "$PEERS_BIN/$1" ]; then echo "$PEERS_BIN/$1"; else command -v "$1" || true; fi
}
NETPERF=${NETPERF:-$(find_peer netperf)} NETSERVER=${NETSERVER:-$(find_peer netserver)} NEPER=${NEPER:-$(find_peer tcp_rr)}
[ -n "$NETPERF" ] && [ -n "$NETSERVER" ] || { NETPERF=""; echo "netperf/netserver not found (bench/peers.sh builds them): its rows are skipped"; }
[ -n "$NEPER" ] || echo "neper's tcp_rr not found (bench/peers.sh builds it): its rows are skipped"
WORK=$(mktemp -d)
REF=$WORK/ref
cc -O2 -pthread -o "$REF" "$HERE/bench/ref.c"
[ -f "$HERE/dist/commands/rr.js" ] || (cd "$HERE" && npm run build >/dev/null)

ip netns add "$NSA"; ip netns add "$NSB"
ip -n "$NSA" link set lo up; ip -n "$NSB" link set lo up
ip link add "$DEVA" numtxqueues 2 numrxqueues 2 netns "$NSA" type veth peer name "$DEVB" numtxqueues 2 numrxqueues 2 netns "$NSB"
ip -n "$NSA" addr add "$IPA/30" dev "$DEVA"; ip -n "$NSB" addr add "$IPB/30" dev "$DEVB"
ip -n "$NSA" link set "$DEVA" up; ip -n "$NSB" link set "$DEVB" up
# The reference TCP_CRR client closes first (FIN, TIME_WAIT) as netperf's does; in this throwaway
# namespace it may reuse those ports after a second instead of running out of them. mqbench's
# client resets instead (no TIME_WAIT), so the setting changes nothing for it.
ip netns exec "$NSA" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"

MQBENCH_TOKEN=$TOKEN $MQB server --netns "$NSB" --bind "$IPB" --port $MQB_PORT >/dev/null 2>&1 & PIDS+=($!)
MQBENCH_TOKEN=$TOKEN $MQB server --netns "$NSB" --bind "$IPB" --port $MQB_SCALE_PORT --max-sessions 100000 >/dev/null 2>&1 & PIDS+=($!)
SCALE_SERVER=$!
# The same on loopback inside NSB (issue 11's setting: client and server in one namespace).
MQBENCH_TOKEN=$TOKEN $MQB server --netns "$NSB" --bind 127.0.0.1 --port $MQB_LO_PORT --max-sessions 100000 >/dev/null 2>&1 & PIDS+=($!)
LO_SERVER=$!
# Single-session round trips depend mostly on where the two ends run (docs/platform.md: ~12 us on one
# vCPU, ~55 us across two), so for that pair both tools run pinned alike: servers on the last CPU,
# clients on CPU 0.
SRV_CPU=$((NCPU - 1))
MQBENCH_TOKEN=$TOKEN taskset -c $SRV_CPU $MQB server --netns "$NSB" --bind "$IPB" --port $MQB_PINNED_PORT >/dev/null 2>&1 & PIDS+=($!)
MQB_PINNED_PID=$!
# The peer at its best for each case: for one client sockperf's default blocking server; for many,
# its epoll server with one thread per CPU, each on its own port (sockperf needs a socket per
# thread), clients spread over the ports.
ip netns exec "$NSB" taskset -c $SRV_CPU sockperf server --tcp -i "$IPB" -p $SP_PORT >/dev/null 2>&1 & PIDS+=($!)
FEED=$(mktemp)
for i in $(seq 0 $((NCPU - 1))); do echo "T:$IPB:$((SP_MULTI_PORT + i))"; done >"$FEED"
ip netns exec "$NSB" sockperf server -f "$FEED" -F epoll --threads-num "$NCPU" >/dev/null 2>&1 & PIDS+=($!)
FEEDU=$(mktemp)
for i in $(seq 0 $((NCPU - 1))); do echo "U:$IPB:$((SPU_MULTI_PORT + i))"; done >"$FEEDU"
ip netns exec "$NSB" taskset -c $SRV_CPU sockperf server -i "$IPB" -p $SPU_PORT >/dev/null 2>&1 & PIDS+=($!)
ip netns exec "$NSB" sockperf server -f "$FEEDU" -F epoll --threads-num "$NCPU" >/dev/null 2>&1 & PIDS+=($!)
ip netns exec "$NSB" iperf3 -s -B "$IPB" -p $IP3_PORT >/dev/null 2>&1 & PIDS+=($!)
# netserver forks a child per test, which keeps its CPU.
[ -n "$NETPERF" ] && { ip netns exec "$NSB" taskset -c $SRV_CPU "$NETSERVER" -D -p $NETSERVER_PORT >/dev/null 2>&1 & PIDS+=($!); }
for t in tcp_rr udp_rr tcp_crr; do
  ip netns exec "$NSB" "$REF" server $t "$IPB" "${REF_PORT[$t]}" 20 64 64 & PIDS+=($!)
  ip netns exec "$NSB" taskset -c $SRV_CPU "$REF" server $t "$IPB" $((REF_PORT[$t] + 100)) 1 64 64 & PIDS+=($!)
  REF_PINNED_PID[$t]=$!
done
sleep 2

export MQBENCH_TOKEN=$TOKEN
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { # runs-a... -- runs-b... column -> median of a's column / median of b's, "1.23x"
  local c=${*: -1} a=() b=() side=a
  for x in "${@:1:$#-1}"; do if [ "$x" = -- ]; then side=b; elif [ $side = a ]; then a+=("$x"); else b+=("$x"); fi; done
  awk -v x="$(printf '%s\n' "${a[@]}" | awk -v c="$c" '{print $c}' | median)" -v y="$(printf '%s\n' "${b[@]}" | awk -v c="$c" '{print $c}' | median)" \
    'BEGIN { if (y > 0) printf "%.2fx", x / y; else print "-" }'
}
mqb_rr() { # type sessions [extra flags] -> "tps p50 p99"; one session runs pinned (see above)
  local t=$1 n=$2; shift 2
  local pin=() port=$MQB_PORT
  if [ "$n" -eq 1 ]; then pin=(taskset -c 0); port=$MQB_PINNED_PORT; fi
  "${pin[@]}" $MQB rr --type "$t" --netns "$NSA" --server "$IPB" --port $port --sessions "$n" "$@" --request-size 64 --response-size 64 --duration "${DUR}s" --json |
    jq -r '"\(.transactionsPerSecond) \(.latency.p50) \(.latency.p99)"'
}
ref_n() { # type clients -> "tps p50 p99": summed rate, median of the clients' percentiles
  local t=$1 n=$2 dir; dir=$(mktemp -d -p "$WORK")
  if [ "$n" -eq 1 ]; then ip netns exec "$NSA" taskset -c 0 "$REF" client "$t" "$IPB" $((REF_PORT[$t] + 100)) "$DUR" 64 64 >"$dir/1"
  else for i in $(seq 1 "$n"); do ip netns exec "$NSA" "$REF" client "$t" "$IPB" $((REF_PORT[$t] + i - 1)) "$DUR" 64 64 >"$dir/$i" & done; wait; fi
  sum_clients "$dir"
}
sum_clients() { # dir of "tps p50 p99" lines -> summed rate, median percentiles
  printf '%s %s %s\n' "$(cat "$1"/* | awk '{ t += $1 } END { printf "%f", t }')" \
    "$(cat "$1"/* | awk '{ print $2 }' | median)" "$(cat "$1"/* | awk '{ print $3 }' | median)"
  rm -rf "$1"
}
sockperf_one() { # tcp|udp port -> "tps p50 p99" of one client (valid-duration messages / runtime; full round trip)
  local tcp=(); [ "$1" = tcp ] && tcp=(--tcp)
  ip netns exec "$NSA" ${PIN:-} sockperf ping-pong "${tcp[@]}" --full-rtt -i "$IPB" -p "$2" -m 64 -t "$DUR" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | awk '
    /\[Valid Duration\]/ { for (i = 1; i <= NF; i++) { if ($i ~ /^RunTime=/) { sub("RunTime=", "", $i); rt = $i } if ($i ~ /^ReceivedMessages=/) { sub("ReceivedMessages=", "", $i); n = $i } } }
    /percentile 50.000/ { p50 = $NF } /percentile 99.000/ { p99 = $NF }
    END { printf "%f %s %s\n", n / rt, p50, p99 }'
}
sockperf_n() { # type clients -> "tps p50 p99": summed rate, median of the clients' percentiles
  local proto=tcp port=$SP_PORT multi=$SP_MULTI_PORT dir; dir=$(mktemp -d -p "$WORK")
  if [ "$1" = udp_rr ]; then proto=udp port=$SPU_PORT multi=$SPU_MULTI_PORT; fi
  if [ "$2" -eq 1 ]; then PIN="taskset -c 0" sockperf_one $proto $port >"$dir/1"
  else for i in $(seq 1 "$2"); do sockperf_one $proto $((multi + i % NCPU)) >"$dir/$i" & done; wait; fi
  sum_clients "$dir"
}
netperf_one() { # type -> "tps p50 p99" of one netperf client, pinned as mqbench's (omni output; -j: percentiles)
  ip netns exec "$NSA" taskset -c 0 "$NETPERF" -H "$IPB" -p $NETSERVER_PORT -t "${1^^}" -l "$DUR" -j -P 0 -- -r 64,64 \
    -o THROUGHPUT,P50_LATENCY,P99_LATENCY | tail -1 | tr ',' ' '
}
# neper's tcp_rr across the veth pair, 64-byte requests and responses as the others; its server
# serves one test and exits, so each run starts one. Latency is printed in seconds.
neper_rr() { # sessions -> "tps p50 p99"
  local n=$1 out srv; out=$(mktemp -p "$WORK")
  ip netns exec "$NSB" "$NEPER" --nolog -F "$n" -T 2 -C $NEPER_CTL_PORT -P $NEPER_DATA_PORT -Q 64 -R 64 -l "$DUR" >/dev/null 2>&1 & srv=$!
  for _ in $(seq 1 200); do ip netns exec "$NSB" ss -Hltn "sport = :$NEPER_CTL_PORT" | grep -q . && break; sleep 0.05; done
  ip netns exec "$NSA" "$NEPER" --nolog -c -H "$IPB" -F "$n" -T 2 -C $NEPER_CTL_PORT -P $NEPER_DATA_PORT -Q 64 -R 64 -l "$DUR" -p 50,99 >"$out" 2>&1 ||
    echo "neper tcp_rr -F $n failed: $(tail -1 "$out")" >&2
  wait "$srv" 2>/dev/null || true
  awk -F= '$1 == "throughput" { t = $2 } $1 == "latency_p50" { a = $2 * 1e6 } $1 == "latency_p99" { b = $2 * 1e6 }
    END { printf "%s %.0f %.0f\n", t, a, b }' "$out"
}
mqb_stream() { # sessions [extra flags] -> gbps
  local n=$1; shift
  $MQB stream --netns "$NSA" --server "$IPB" --port $MQB_PORT --sessions "$n" "$@" --duration "${DUR}s" --json | jq -r '.gbps'
}
iperf_stream() { # streams [extra flags] -> gbps (received)
  local n=$1; shift
  ip netns exec "$NSA" iperf3 -c "$IPB" -p $IP3_PORT -P "$n" "$@" -t "$DUR" -J | jq -r '.end.sum_received.bits_per_second / 1e9'
}
none() { :; }

field() { printf '%s\n' "$@" | awk -v k="$COL" '{ print $k }'; }
# label unit mqb-command reference-command peer-command ("none": not run): REPS alternating rounds,
# then mqbench's median and range, each peer's median and mqbench/peer; latency medians (us) after.
triple() {
  local label=$1 unit=$2 ours=$3 ref=$4 peer=$5 a=() b=() c=()
  for r in $(seq 1 "$REPS"); do a+=("$($ours)"); b+=("$($ref)"); c+=("$($peer)"); done
  local ma lo hi mb mc
  ma=$(COL=1 field "${a[@]}" | median); lo=$(COL=1 field "${a[@]}" | sort -g | head -1); hi=$(COL=1 field "${a[@]}" | sort -g | tail -1)
  printf '%-34s mqbench %11.2f %-7s (%.2f-%.2f)' "$label" "$ma" "$unit" "$lo" "$hi"
  for other in b c; do
    local -n arr=$other
    [ -z "${arr[0]}" ] && { printf '  %-28s' "-"; continue; }
    mb=$(COL=1 field "${arr[@]}" | median)
    # mqbench/peer of the medians, then the range of the rounds' own ratios (each round's pair ran back to back)
    printf '  %s %.2fx (%s) of %.2f' "$([ $other = b ] && echo "ref" || echo "peer")" "$(echo "$ma $mb" | awk '{print $1 / $2}')" \
      "$(paste <(COL=1 field "${a[@]}") <(COL=1 field "${arr[@]}") | awk '$2 > 0 { print $1 / $2 }' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')" "$mb"
  done
  if [ -n "$(COL=2 field "${a[0]}")" ]; then
    printf '  p50 %s' "$(COL=2 field "${a[@]}" | median)"
    [ -n "${b[0]}" ] && printf '/%s' "$(COL=2 field "${b[@]}" | median)"
    [ -n "${c[0]}" ] && printf '/%s' "$(COL=2 field "${c[@]}" | median)"
    printf ' p99 %s' "$(COL=3 field "${a[@]}" | median)"
    [ -n "${b[0]}" ] && printf '/%s' "$(COL=3 field "${b[@]}" | median)"
    [ -n "${c[0]}" ] && printf '/%s' "$(COL=3 field "${c[@]}" | median)"
    printf ' us'
  fi
  printf '\n'
}

# Syscalls per transaction of one client over one run under strace -c -f (strace slows both alike;
# only the counts matter): the total, then the calls that make up at least 0.1 per transaction.
strace_calls() { # out-file command... -> runs it under strace, prints its stdout
  local out=$1; shift
  strace -f -c -o "$out" "$@"
}
per_tx() { # strace-summary transactions -> "N.N (call n.n, ...)"
  awk -v tx="$2" '$NF == "total" { tot = $4 } $1 ~ /^[0-9.]+$/ && $NF != "total" && $4 / tx >= 0.1 { parts = parts sprintf("%s%s %.2f", sep, $NF, $4 / tx); sep = ", " }
    END { printf "%.2f (%s)", tot / tx, parts }' "$1"
}
# The server's calls: strace attached (-f: every thread) to the pinned server for one client run.
attach() { # pid out-file -> sets ATTACHED to strace's pid
  strace -f -c -p "$1" -o "$2" 2>/dev/null & ATTACHED=$!
  sleep 1
}
detach() { kill -INT "$ATTACHED" 2>/dev/null || true; wait "$ATTACHED" 2>/dev/null || true; }
syscalls() { # type
  local t=$1 port=$((REF_PORT[$1] + 100)) n
  attach "${REF_PINNED_PID[$t]}" "$WORK/refsrv.strace"
  n=$(strace_calls "$WORK/ref.strace" ip netns exec "$NSA" taskset -c 0 "$REF" client "$t" "$IPB" $port "$DUR" 64 64 | awk '{print $4}')
  detach
  local ref refsrv; ref=$(per_tx "$WORK/ref.strace" "$n"); refsrv=$(per_tx "$WORK/refsrv.strace" "$n")
  attach "$MQB_PINNED_PID" "$WORK/mqbsrv.strace"
  n=$(strace_calls "$WORK/mqb.strace" taskset -c 0 $MQB rr --type "$t" --netns "$NSA" --server "$IPB" --port $MQB_PINNED_PORT \
    --request-size 64 --response-size 64 --duration "${DUR}s" --json | jq -r '[.sessions[].transactions] | add')
  detach
  printf '%-34s mqbench %s   ref %s\n' "syscalls/trans $t 1 session" "$(per_tx "$WORK/mqb.strace" "$n")" "$ref"
  if [ -n "$NETPERF" ]; then # its transactions: rate x elapsed time
    n=$(strace_calls "$WORK/np.strace" ip netns exec "$NSA" taskset -c 0 "$NETPERF" -H "$IPB" -p $NETSERVER_PORT -t "${t^^}" -l "$DUR" -P 0 -- \
      -r 64,64 -o THROUGHPUT,ELAPSED_TIME | tail -1 | awk -F, '{ printf "%d", $1 * $2 }')
    printf '%-34s netperf %s\n' "" "$(per_tx "$WORK/np.strace" "$n")"
  fi
  printf '%-34s mqbench %s   ref %s\n' "  its server's" "$(per_tx "$WORK/mqbsrv.strace" "$n")" "$refsrv"
}

scale() { # lo|veth sessions -> one line per run: "overhead_s ramp_ms rss_mb trans/s"
  local out where; out=$(mktemp)
  if [ "$1" = lo ]; then where=(--netns "$NSB" --server 127.0.0.1 --port $MQB_LO_PORT)
  else where=(--netns "$NSA" --server "$IPB" --port $MQB_SCALE_PORT); fi
  /usr/bin/time -f '%e %M' -o "$out.time" $MQB rr "${where[@]}" --sessions "$2" --duration "${DUR}s" --json >"$out" 2>/dev/null || { echo "rr --sessions $2 ($1) failed" >&2; rm -f "$out" "$out.time"; return 1; }
  read -r wall rss <"$out.time"
  printf '%s %s %s %s\n' "$(echo "$wall $DUR" | awk '{print $1 - $2}')" "$(jq -r '.connectMs' "$out")" "$(echo "$rss" | awk '{print $1 / 1024}')" "$(jq -r '.transactionsPerSecond' "$out")"
  rm -f "$out" "$out.time"
}
# neper's tcp_rr (bench/peers.sh builds it; not packaged for Debian) as the
# peer of the loopback runs: flows x threads over epoll as mqbench's engine, both at 2 threads a
# side (mqbench's default here: one per CPU), 1-byte requests and responses (both defaults). Its
# server serves one test and exits, so each run starts one. -> "overhead_s - rss_mb trans/s server_rss_mb"
neper_scale() { # sessions
  local n=$1 out srv; out=$(mktemp -p "$WORK")
  ip netns exec "$NSB" /usr/bin/time -f '%M' -o "$out.srv" "$NEPER" --nolog -F "$n" -T 2 -C $NEPER_CTL_PORT -P $NEPER_DATA_PORT --listen-backlog 4096 -l "$DUR" >/dev/null 2>&1 & srv=$!
  for _ in $(seq 1 200); do ip netns exec "$NSB" ss -Hltn "sport = :$NEPER_CTL_PORT" | grep -q . && break; sleep 0.05; done
  if ! /usr/bin/time -f '%e %M' -o "$out.time" ip netns exec "$NSB" "$NEPER" --nolog -c -H 127.0.0.1 -F "$n" -T 2 -C $NEPER_CTL_PORT -P $NEPER_DATA_PORT --listen-backlog 4096 -l "$DUR" >"$out" 2>&1; then
    echo "neper tcp_rr -F $n failed: $(tail -1 "$out")" >&2; kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; return 1
  fi
  ( sleep 5; kill "$srv" 2>/dev/null ) & local guard=$!
  wait "$srv" 2>/dev/null || true; kill "$guard" 2>/dev/null || true
  read -r wall rss <"$out.time"
  printf '%s - %s %s %s\n' "$(echo "$wall $DUR" | awk '{print $1 - $2}')" "$(echo "$rss" | awk '{print $1 / 1024}')" \
    "$(awk -F= '$1 == "throughput" { print $2 }' "$out")" "$(awk '{print $1 / 1024}' "$out.srv")"
}

if [[ " $SECTIONS " == *" peers "* ]]; then
echo "mqbench sessions vs peers: veth pair (2 queues) between $NSA and $NSB, ${DUR}s runs, median of $REPS alternating runs, $NCPU CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(ref: bench/ref.c, the blocking floor; peer: sockperf ping-pong for rr, iperf3 for stream; 64-byte requests and responses; latency p50/p99 mqbench/ref/peer)"
for t in tcp_rr udp_rr tcp_crr; do
  peer="sockperf_n $t"; [ $t = tcp_crr ] && peer=none
  triple "$t 1 session (pinned 0/$SRV_CPU)" "trans/s" "mqb_rr $t 1" "ref_n $t 1" "${peer/ $t/ $t 1}"
  triple "$t 20 sessions" "trans/s" "mqb_rr $t 20" "ref_n $t 20" "${peer/ $t/ $t 20}"
done
for n in 1 2 20; do triple "stream tcp $n, 128 KiB sends" "Gbit/s" "mqb_stream $n --message-size 128k" none "iperf_stream $n"; done
triple "stream tcp 1, defaults of both" "Gbit/s" "mqb_stream 1" none "iperf_stream 1"
for t in tcp_rr udp_rr tcp_crr; do syscalls $t; done
echo "(load average at the end $(cut -d' ' -f1-3 /proc/loadavg); syscalls are the client's, over a whole run)"
fi

if [[ " $SECTIONS " == *" netperf "* ]]; then
echo "mqbench rr vs netperf $([ -n "$NETPERF" ] && "$NETPERF" -V | awk '{print $3}') (1 session, both pinned: client CPU 0, server CPU $SRV_CPU) and neper tcp_rr (20 sessions, -T 2; mqbench: a thread per CPU)"
echo "  veth pair (2 queues), 64-byte requests and responses, ${DUR}s runs, median of $REPS alternating rounds, $NCPU CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  (ref: bench/ref.c, the blocking floor; ratios mqbench/other of the medians, in brackets the range of the rounds' ratios; latency p50/p99 mqbench/ref/peer)"
if [ -n "$NETPERF" ]; then
  for t in tcp_rr udp_rr tcp_crr; do triple "$t 1 session vs netperf" "trans/s" "mqb_rr $t 1" "ref_n $t 1" "netperf_one $t"; done
else echo "netperf rows skipped: no netperf (bench/peers.sh)"; fi
if [ -n "$NEPER" ]; then triple "tcp_rr 20 sessions vs neper" "trans/s" "mqb_rr tcp_rr 20" "ref_n tcp_rr 20" "neper_rr 20"
else echo "neper row skipped: no neper tcp_rr (bench/peers.sh)"; fi
echo "(load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
fi

if [[ " $SECTIONS " == *" single "* ]]; then
echo "mqbench rr, 1 session, vs the reference floor and sockperf: ${DUR}s runs, median of $REPS alternating runs, $NCPU CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for t in tcp_rr udp_rr tcp_crr; do
  peer="sockperf_n $t 1"; [ $t = tcp_crr ] && peer=none
  triple "$t 1 session (pinned 0/$SRV_CPU)" "trans/s" "mqb_rr $t 1" "ref_n $t 1" "$peer"
done
for t in tcp_rr udp_rr tcp_crr; do syscalls $t; done
echo "(load average at the end $(cut -d' ' -f1-3 /proc/loadavg); syscalls are the client's, over a whole run)"
fi

if [[ " $SECTIONS " == *" crr "* ]]; then
echo "mqbench rr tcp_crr, many sessions (default threads) vs the sum of as many reference clients: ${DUR}s runs, median of $REPS alternating runs, $NCPU CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# CRR_FLAGS: extra rr flags for mqbench (e.g. "--threads 8"), to compare thread counts with the default.
for n in ${CRR_SESSIONS:-4 20}; do
  triple "tcp_crr $n sessions ${CRR_FLAGS:-}" "trans/s" "mqb_rr tcp_crr $n ${CRR_FLAGS:-}" "ref_n tcp_crr $n" none
done
echo "(load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
fi

if [[ " $SECTIONS " == *" scale "* ]]; then
  ulimit -n "$(ulimit -Hn)" # mqbench raises its own soft limit; neper does not
  # SCALE_PORT_RANGE="1024 65000": the loopback runs' local port range (default: the kernel's
  # 32768-60999), to see how much of a ramp is the kernel's search for a free port.
  [ -n "${SCALE_PORT_RANGE:-}" ] && ip netns exec "$NSB" sysctl -qw net.ipv4.ip_local_port_range="$SCALE_PORT_RANGE"
  peer=""; [ -n "$NEPER" ] && peer=", neper tcp_rr -T 2 on loopback between them"
  echo "mqbench rr, many sessions: ${DUR}s window, median of $REPS runs each (loopback and veth alternating$peer), $NCPU CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "(loopback: local ports $(ip netns exec "$NSB" cat /proc/sys/net/ipv4/ip_local_port_range | tr '\t' '-'))"
  printf '%-10s %-6s %24s %10s %14s %20s %12s\n' sessions path "wall overhead s (range)" "ramp ms" "client RSS MB" "server peak RSS MB" "trans/s"
  paths="lo veth"; [ -n "$NEPER" ] && paths="lo neper veth"
  for n in $SCALE_COUNTS; do
    lo=() veth=() neper=()
    for r in $(seq 1 "$REPS"); do
      lo+=("$(scale lo "$n")")
      [ -n "$NEPER" ] && neper+=("$(neper_scale "$n")")
      veth+=("$(scale veth "$n")")
    done
    for path in $paths; do
      local_runs="$path[@]"
      runs=("${!local_runs}")
      col() { printf '%s\n' "${runs[@]}" | awk -v c="$1" '{print $c}' | median; }
      range=$(printf '%s\n' "${runs[@]}" | awk '{print $1}' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')
      # Each path's mqbench server is one process for every count, in increasing order: its peak so
      # far is this count's; neper's server is one process per run.
      case $path in
        lo) srv=$(awk '/^VmHWM/ {print $2 / 1024}' "/proc/$LO_SERVER/status") ;;
        veth) srv=$(awk '/^VmHWM/ {print $2 / 1024}' "/proc/$SCALE_SERVER/status") ;;
        neper) srv=$(col 5) ;;
      esac
      ramp=$(col 2); [ "$ramp" = - ] || ramp=$(printf '%.0f' "$ramp")
      printf '%-10s %-6s %12.2f (%9s) %10s %14.0f %20.0f %12.0f\n' "$n" "$path" "$(col 1)" "$range" "$ramp" "$(col 3)" "$srv" "$(col 4)"
      [ "$path" = neper ] && printf '%-10s %-6s %12s %34s %14s %20s %12s\n' "" "ratio" \
        "$(ratio "${lo[@]}" -- "${neper[@]}" 1)" "" "$(ratio "${lo[@]}" -- "${neper[@]}" 3)" "" "$(ratio "${lo[@]}" -- "${neper[@]}" 4)"
    done
  done
  echo "(wall overhead: the client's wall time beyond the window: start-up, connection ramp, stop, results;"
  echo " ratio: mqbench / neper, loopback medians: above 1, mqbench costs more (overhead, RSS) or does more"
  echo " (trans/s); mqbench's wall and RSS include node's start-up and heap;"
  echo " both ends need RLIMIT_NOFILE above the session count: ulimit -Hn caps the largest count)"
fi
