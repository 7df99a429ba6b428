#!/usr/bin/env bash
# The cost of an SSH far end (docs/hosts.md) against a local one, same workload, same host: a
# "host" made here as the tests make one (a network namespace with 198.19.X.2, its own mount and
# PID namespaces, Debian's sshd with a config, keys and known_hosts of this script's own), then,
# alternating REPS times,
#   local: `mqbench server` started in that namespace, `mqbench rr/stream --server 198.19.X.2`
#   ssh:   `mqbench rr/stream --server ssh://root@198.19.X.2` (agent copied, run, removed per run)
# for tcp_rr with 1 and 20 sessions and tcp_stream with 1 session, SECONDS each. Prints the medians
# of trans/s (Gbit/s) and of the command's wall time beyond its window (start-up, for ssh also the
# connection, the 2 MB copy, checksum and hello), and the ratios ssh/local.
# Usage: bench/hosts.sh [SECONDS_PER_RUN=5] [REPS=3]   (root, openssh-server, jq)
set -euo pipefail
DUR=${1:-5}
REPS=${2:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
MQB="node $HERE/bin/run.js"
TAG=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
NS=mqb-bench$TAG-h DEVH=mqb${TAG}s DEVT=mqb${TAG}h
OCT=$((16#${TAG:0:2}))
IPH=198.19.$OCT.1 IP=198.19.$OCT.2
TOKEN=bench-$TAG PORT=12866
INIT=
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$INIT" ] && kill -KILL "$INIT" 2>/dev/null || true
  wait 2>/dev/null || true
  ip link del "$DEVH" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "${WORK:-}"
}
trap cleanup EXIT INT TERM
for c in /usr/sbin/sshd ssh ssh-keygen jq; do command -v $c >/dev/null || { echo "bench/hosts.sh needs $c"; exit 1; }; done
[ -f "$HERE/dist/commands/rr.js" ] || (cd "$HERE" && npm run build >/dev/null)
WORK=$(mktemp -d /var/tmp/mqb-bench-ssh-XXXXXX)

ip netns add "$NS"; ip -n "$NS" link set lo up
ip link add "$DEVH" type veth peer name "$DEVT" netns "$NS"
ip addr add "$IPH/30" dev "$DEVH"; ip link set "$DEVH" up
ip -n "$NS" addr add "$IP/30" dev "$DEVT"; ip -n "$NS" link set "$DEVT" up
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"; ssh-keygen -q -t ed25519 -N '' -f "$WORK/id"
cp "$WORK/id.pub" "$WORK/authorized_keys"
echo "$IP $(cut -d' ' -f1,2 "$WORK/host_key.pub")" >"$WORK/known_hosts"
cat >"$WORK/sshd_config" <<EOF
ListenAddress $IP
HostKey $WORK/host_key
AuthorizedKeysFile $WORK/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile /run/sshd.pid
EOF
cat >"$WORK/ssh_config" <<EOF
Host *
  User root
  IdentityFile $WORK/id
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile $WORK/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
EOF
export MQBENCH_SSH_CONFIG=$WORK/ssh_config
ip netns exec "$NS" unshare --mount --pid --fork --mount-proc sh -c \
  "mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /run && mkdir /run/sshd && /usr/sbin/sshd -f $WORK/sshd_config && exec sleep 100000" &
UNSHARE=$!
PIDS+=($UNSHARE)
for _ in $(seq 50); do INIT=$(pgrep -P $UNSHARE || true); [ -n "$INIT" ] && ssh -F "$WORK/ssh_config" -o BatchMode=yes "$IP" true 2>/dev/null && break; sleep 0.2; done
MQBENCH_TOKEN=$TOKEN $MQB server --netns "$NS" --bind "$IP" --port $PORT >/dev/null 2>&1 & PIDS+=($!)
sleep 2

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A VAL WALL
run() { # label where cmd args...  -> appends figure and wall overhead
  local key=$1 where=$2; shift 2
  local server=$IP; [ "$where" = ssh ] && server=ssh://root@$IP
  local t0 t1 out
  t0=$(date +%s%N)
  out=$(MQBENCH_TOKEN=$TOKEN $MQB "$@" --server "$server" --port $PORT --duration "${DUR}s" --json)
  t1=$(date +%s%N)
  VAL[$key,$where]+="$(jq -r '.transactionsPerSecond // .gbps' <<<"$out") "
  WALL[$key,$where]+="$(awk -v a="$t0" -v b="$t1" -v d="$DUR" 'BEGIN {print (b-a)/1e9 - d}') "
}
CASES=("rr1:rr --sessions 1" "rr20:rr --sessions 20" "stream1:stream --sessions 1")
for rep in $(seq "$REPS"); do
  for c in "${CASES[@]}"; do
    key=${c%%:*}
    read -ra args <<<"${c#*:}"
    # alternate which goes first, so that neither always runs on a warmer machine
    if [ $((rep % 2)) = 1 ]; then order="local ssh"; else order="ssh local"; fi
    for w in $order; do run "$key" "$w" "${args[@]}"; done
  done
done
echo "SSH far end vs local far end, ${DUR} s per run, median of $REPS ($(nproc) CPUs, $(uname -r))"
printf '%-8s %14s %14s %7s  %12s %12s\n' case local ssh ratio 'wall+ local' 'wall+ ssh'
for c in "${CASES[@]}"; do
  key=${c%%:*}
  l=$(tr ' ' '\n' <<<"${VAL[$key,local]}" | grep . | median)
  s=$(tr ' ' '\n' <<<"${VAL[$key,ssh]}" | grep . | median)
  wl=$(tr ' ' '\n' <<<"${WALL[$key,local]}" | grep . | median)
  ws=$(tr ' ' '\n' <<<"${WALL[$key,ssh]}" | grep . | median)
  printf '%-8s %14.2f %14.2f %7.3f  %10.2f s %10.2f s\n' "$key" "$l" "$s" "$(awk -v a="$s" -v b="$l" 'BEGIN {print a/b}')" "$wl" "$ws"
done
left=$(nsenter -t "$INIT" -m -p ps -eo args= | grep -c '[m]qbench-agent' || true)
echo "agents left on the host: $left"
