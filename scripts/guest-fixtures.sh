#!/usr/bin/env bash
# Regenerates test/fixtures/observe/guest-virtio-2q/: what a real multiqueue virtio-net guest
# shows (/proc/interrupts, ethtool -S/-l/-i, sysfs queues) before and after traffic over both
# queue pairs, and after going back to one queue. Run as root on a machine with
# qemu-system-x86, busybox-static, ethtool and a Debian kernel image installed
# (apt-get install qemu-system-x86 busybox-static linux-image-cloud-amd64). Not run by CI: the
# fixtures are committed; this script says how they were made.
#
# Everything runs in a throwaway namespace mqb-g<tag>: the guest's multiqueue tap, the qemu
# process and the host-side echo servers. Traffic flows only between the guest and that tap
# (198.18.100.0/24). The namespace, tap, processes and temp dir go away on exit, error or Ctrl-C.
#
# Usage: sudo scripts/guest-fixtures.sh [OUT_DIR]     (KERNEL=/boot/vmlinuz-X to choose one)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../test/fixtures/observe/guest-virtio-2q}
queues=2
host_ip=198.18.100.1
guest_ip=198.18.100.2

die() { echo "guest-fixtures: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "run as root (it creates a network namespace and a tap)"
for t in qemu-system-x86_64 busybox ethtool cpio ip timeout ldd modprobe; do
  command -v "$t" >/dev/null || die "$t not found (apt-get install qemu-system-x86 busybox-static ethtool cpio)"
done
# The Debian busybox (not -static) is dynamic and would need its libraries in the initramfs too.
busybox=$(command -v busybox)
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked: install busybox-static"

# The newest installed kernel that has its modules (virtio_net is a module in Debian kernels).
kernel=${KERNEL:-}
if [[ -z $kernel ]]; then
  for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
    [[ -d /lib/modules/${k#/boot/vmlinuz-} ]] && { kernel=$k; break; }
  done
fi
[[ -n $kernel && -r $kernel ]] || die "no /boot/vmlinuz-* with /lib/modules: apt-get install linux-image-cloud-amd64"
kver=${kernel#/boot/vmlinuz-}

tag=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
ns=mqb-g$tag
tap=mqbg$tag
work=$(mktemp -d /tmp/mqb-guest-XXXXXX)
qemu_pid=''

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $qemu_pid ]] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null || true
  # Only processes inside our own namespace: the echo servers and their children.
  if ip netns list | grep -qw "$ns"; then
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns exec "$ns" ip link del "$tap" 2>/dev/null || true
    ip netns del "$ns"
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- initramfs: static busybox, the virtio modules in load order, ethtool with its libraries
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lib/modules}
cp "$busybox" "$root/bin/busybox"
mods=$( { modprobe -S "$kver" --show-depends virtio_pci; modprobe -S "$kver" --show-depends virtio_net; } \
  | awk '$1 == "insmod" && !seen[$2]++ {print $2}')
[[ -n $mods ]] || die "modprobe found no virtio_pci/virtio_net modules for $kver"
for m in $mods; do
  case $m in *.ko) ;; *) die "$m is compressed: busybox insmod in the guest needs plain .ko";; esac
  cp "$m" "$root/lib/modules/"
done
cp "$(command -v ethtool)" "$root/usr/sbin/ethtool"
for lib in $(ldd "$(command -v ethtool)" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

{
  echo '#!/bin/busybox sh'
  echo "MODS='$(for m in $mods; do printf '%s ' "$(basename "$m")"; done)'"
  echo "HOST=$host_ip GUEST=$guest_ip QUEUES=$queues"
  cat <<'INIT'
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 > /proc/sys/kernel/printk
for m in $MODS; do insmod /lib/modules/$m || echo "insmod $m failed"; done

sec() { name=$1; shift; echo "=====MQB-BEGIN $name====="; "$@" 2>&1; echo "=====MQB-END $name====="; }
irqs() { grep virtio /proc/interrupts | while read -r n rest; do n=${n%:}; echo "$n $(cat /proc/irq/$n/smp_affinity_list) $(cat /proc/irq/$n/effective_affinity_list 2>/dev/null)"; done; }
xps() { for q in /sys/class/net/eth0/queues/tx-*; do echo "${q##*/} $(cat $q/xps_cpus)"; done; }
# Each flow is one TCP connection to the host's echo server, sending then reading back LEN bytes;
# pinned to a CPU so that XPS puts it on that CPU's tx queue and tun's flow table answers on the
# same queue number.
flows() {
  per=$1 len=$2
  for c in $(seq 0 $(($(nproc) - 1))); do
    for i in $(seq 1 $per); do
      taskset -c $c sh -c "dd if=/dev/zero bs=1024 count=$len 2>/dev/null | timeout 30 nc $HOST 5001 | wc -c" &
    done
  done
  wait
}

for i in $(seq 1 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip link set eth0 up
ip addr add $GUEST/24 dev eth0
ip link set lo up

sec uname uname -r
sec nproc nproc
sec ethtool-i ethtool -i eth0
sec device-link readlink /sys/class/net/eth0/device
sec ethtool-l ethtool -l eth0
sec ethtool-k ethtool -k eth0
sec ethtool-L-2 ethtool -L eth0 combined $QUEUES
sec queues-2 ls /sys/class/net/eth0/queues
sec xps-2 xps
sec irq-affinity irqs
sleep 1
ping -c 2 -W 5 $HOST > /dev/null 2>&1
sec interrupts-before cat /proc/interrupts
sec ethtool-S-before ethtool -S eth0
sec softnet-before cat /proc/net/softnet_stat
sec traffic-2 flows 4 512
sec interrupts-after cat /proc/interrupts
sec ethtool-S-after ethtool -S eth0
sec softnet-after cat /proc/net/softnet_stat
sec ethtool-L-1 ethtool -L eth0 combined 1
sec ethtool-l-1 ethtool -l eth0
sec queues-1 ls /sys/class/net/eth0/queues
sec interrupts-1q-before cat /proc/interrupts
sec ethtool-S-1q-before ethtool -S eth0
sec traffic-1 flows 2 512
sec interrupts-1q-after cat /proc/interrupts
sec ethtool-S-1q-after ethtool -S eth0
echo "=====MQB-DONE====="
poweroff -f
INIT
} > "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

# ---- the host side: a namespace with the multiqueue tap and an echo server per connection
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev "$tap" mode tap multi_queue
ip netns exec "$ns" ip addr add "$host_ip/24" dev "$tap"
ip netns exec "$ns" ip link set "$tap" up
ip netns exec "$ns" "$busybox" nc -ll -p 5001 -e /bin/cat >/dev/null 2>&1 &

# vectors=2N+2 (N queue pairs + config + control): below 2N+1 every queue shares one interrupt.
qemu_args=(-nodefaults -machine pc -accel tcg,thread=multi -smp "$queues" -m 512
  -kernel "$kernel" -initrd "$work/initrd.gz" -append 'console=ttyS0 quiet loglevel=1 panic=-1'
  -display none -monitor none -serial "file:$work/console.log" -no-reboot
  -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,queues=$queues,vhost=off"
  -device "virtio-net-pci,netdev=n0,mq=on,vectors=$((2 * queues + 2))")
echo "guest-fixtures: booting $kver with $queues queue pairs in $ns (TCG, up to 120 s)" >&2
ip netns exec "$ns" timeout 120 qemu-system-x86_64 "${qemu_args[@]}" &
qemu_pid=$!
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=''

log=$work/console.log
tr -d '\r' < "$log" > "$work/console.txt"
grep -q '^=====MQB-DONE=====$' "$work/console.txt" || { tail -40 "$work/console.txt" >&2; die "the guest did not finish (qemu exit $qemu_rc)"; }

# ---- split the serial console into one file per section
sections=$work/sections
mkdir -p "$sections"
awk -v dir="$sections" '
  /^=====MQB-BEGIN [a-zA-Z0-9-]+=====$/ { f = dir "/" substr($2, 1, length($2) - 5) ".txt"; printf "" > f; next }
  /^=====MQB-END [a-zA-Z0-9-]+=====$/ { close(f); f = ""; next }
  f != "" { print >> f }
' "$work/console.txt"
for s in interrupts-before interrupts-after ethtool-S-before ethtool-S-after ethtool-l queues-2 queues-1; do
  [[ -s $sections/$s.txt ]] || die "section $s is missing or empty in the guest's output"
done
grep -q 'virtio[0-9]*-input.1' "$sections/interrupts-before.txt" || die "no virtioN-input.1 line: the guest did not get per-queue vectors"

mkdir -p "$out"
rm -f "$out"/*.txt
cp "$sections"/*.txt "$out/"
qemu_ver=$(qemu-system-x86_64 --version | head -1)
cat > "$out/README.txt" <<EOF
Captured by scripts/guest-fixtures.sh on $(date -u +%Y-%m-%d) from a qemu TCG guest:
  guest kernel: $(cat "$sections/uname.txt") (Debian, $(basename "$kernel")), busybox initramfs
  $qemu_ver
  qemu-system-x86_64 ${qemu_args[*]//$work\//}
  host side: multiqueue tap $queues queues in a throwaway namespace, $host_ip; guest eth0 $guest_ip
Sequence in the guest (one file per step):
  uname, nproc, ethtool-i, device-link, ethtool-l (at boot), ethtool-k, ethtool-L-2 (ethtool -L eth0 combined $queues),
  queues-2, xps-2, irq-affinity (irq, smp_affinity_list, effective_affinity_list),
  interrupts-before, ethtool-S-before, softnet-before (/proc/net/softnet_stat),
  traffic-2: 4 TCP flows pinned to each vCPU, 512 KiB each echoed back by the host (bytes read per flow),
  interrupts-after, ethtool-S-after, softnet-after,
  ethtool-L-1 (ethtool -L eth0 combined 1), ethtool-l-1, queues-1,
  interrupts-1q-before, ethtool-S-1q-before, traffic-1 (2 flows per vCPU), interrupts-1q-after, ethtool-S-1q-after.
EOF
echo "guest-fixtures: wrote $(ls "$out" | wc -l) files to $out" >&2
