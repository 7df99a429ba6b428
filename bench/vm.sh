#!/usr/bin/env bash
# The vm testbed's costs, under whatever accel this host gives (TCG here: functional figures,
# not performance claims):
#   boot: `mqbench testbed up --kind vm` until the guest agent answers, against the peer of a bare
#         qemu booting the same kernel and initramfs until its init prints "mqb-boot: agent"
#         (what a hand-written script pays), alternating, REPS times each; medians, ranges, ratio;
#   step: a `scale --testbed vm --queues 1..2` sweep's time per step beyond its measured and
#         warm-up windows (queue change with the three-way read-back, guest snapshots, server).
# Usage: bench/vm.sh [REPS=3]   (needs root, qemu-system-x86, busybox-static, a kernel, jq)
set -euo pipefail
REPS=${1:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
MQB="node $HERE/bin/run.js"
TAG=$(head -c2 /dev/urandom | od -An -tx1 | tr -d ' \n')
WORK=$(mktemp -d /tmp/mqb-bench-vm-XXXXXX)
NAMES=()
cleanup() {
  for n in "${NAMES[@]}"; do $MQB testbed down "$n" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
for c in jq qemu-system-x86_64; do command -v $c >/dev/null || { echo "bench/vm.sh needs $c"; exit 1; }; done
[ -f "$HERE/dist/commands/testbed/up.js" ] || (cd "$HERE" && npm run build >/dev/null)

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

mqb_boot() { # prints ms from start to a held testbed; leaves the kernel/initrd/cmdline in $WORK
  local name="bv$TAG$1" t0 rec
  NAMES+=("$name")
  t0=$(now)
  rec=$($MQB testbed up "$name" --kind vm --max-queues 2 --detach --json)
  ms "$t0" "$(now)"
  jq -r '.guest.commandLine' <<<"$rec" >"$WORK/cmdline"
  $MQB testbed down "$name" >/dev/null
}

# the same kernel and initramfs, serial to a file, until init reaches the agent; a virtio-net NIC
# on qemu's isolated user network (restrict=on: nothing leaves) so init finds its eth0 as it does
# in the testbed
bare_boot() {
  local kernel initrd log="$WORK/bare.log" t0 pid
  kernel=$(grep -o -- "-kernel [^ ]*" "$WORK/cmdline" | cut -d' ' -f2)
  initrd=$(grep -o -- "-initrd [^ ]*" "$WORK/cmdline" | cut -d' ' -f2)
  rm -f "$log"
  t0=$(now)
  qemu-system-x86_64 -nodefaults -display none -machine pc -accel tcg,thread=multi -smp 2 -m 512M \
    -kernel "$kernel" -initrd "$initrd" -append 'console=ttyS0 quiet ipv6.disable=1 panic=0' \
    -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0,mq=on,vectors=6 \
    -serial "file:$log" &
  pid=$!
  for _ in $(seq 1 1200); do grep -q 'mqb-boot: agent' "$log" 2>/dev/null && break; sleep 0.05; done
  ms "$t0" "$(now)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

stats() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%d %d %d\n", m, a[1], a[NR]}'; }

mqb=() bare=()
mqb+=("$(mqb_boot 0)") # warms the initramfs and KVM-probe caches; not counted
mqb=()
for r in $(seq 1 "$REPS"); do
  mqb+=("$(mqb_boot "$r")")
  bare+=("$(bare_boot)")
done
read -r mm ml mh < <(printf '%s\n' "${mqb[@]}" | stats)
read -r bm bl bh < <(printf '%s\n' "${bare[@]}" | stats)
echo "boot, median (range) over $REPS alternating runs:"
echo "  mqbench testbed up --kind vm (to the agent's hello): ${mm} ms (${ml}-${mh})"
echo "  bare qemu, same kernel and initramfs (to init's agent mark): ${bm} ms (${bl}-${bh})"
awk -v a="$mm" -v b="$bm" 'BEGIN {printf "  ratio mqbench / bare: %.2fx\n", a / b}'

out="$WORK/res"
t0=$(now)
$MQB scale --queues 1..2 --testbed vm --workload gen --duration 1s --iterations 1 --warmup 200ms \
  --out "$out" --no-report >/dev/null 2>&1
total=$(ms "$t0" "$(now)")
boot=$(jq -r '.config.testbed.guest.bootMs' "$out"/*.json)
steps=$(jq -r '.steps | length' "$out"/*.json)
echo "scale --queues 1..2 (gen, 1 s windows): ${total} ms in all, boot ${boot} ms;" \
  "per step beyond its 1.2 s of windows: $(( (total - boot) / steps - 1200 )) ms (includes start-up and teardown shares)"
