// The qemu command line for a guest: pure, so that tests pin every flag and the results file
// records exactly what ran.
import {AGENT_PORT_NAME} from './initramfs.js'

export type Accel = 'kvm' | 'tcg'

export interface GuestConfig {
  name: string
  kernel: string
  initrd: string
  /** kernel command line additions (the guest's address) */
  append: string[]
  accel: Accel
  vcpus: number
  memoryMiB: number
  /** queue pairs of the virtio-net NIC and the tap (the largest count a sweep may ask for) */
  queues: number
  /** the multiqueue tap qemu opens (it exists already, in qemu's namespace) */
  tap: string
  /** the guest NIC's MAC: fixed per testbed, so ARP entries stay right across reboots */
  mac: string
  /** vhost-net: only when /dev/vhost-net exists (qemu 7.2 aborts instead of failing cleanly) */
  vhost: boolean
  /** scratch directory for the sockets and the console log */
  dir: string
  /**
   * Test-plan variants (check vm): mq off, or an explicit vector count (scarce vectors,
   * 0 for INTx). Unset, a multiqueue NIC gets mq=on and vectorsFor(queues).
   */
  mq?: boolean
  vectors?: number
  /** virtio features turned on on every NIC (packed rings, RSS, hash reports): NIC_FEATURE_PROPERTIES */
  nicFeatures?: NicFeature[]
  /** a migration destination: waits for the incoming migration on this URI (`unix:PATH`) */
  incoming?: string
  /**
   * More NICs like the first (same queues, mq and vectors), each on its own tap: netdev netK,
   * device nicK for K = 1, 2, ... (several multiqueue NICs in one guest, tp-qemu's extremes).
   */
  extraNics?: Array<{tap: string; mac: string}>
}

/**
 * The virtio-net-pci property each plan variant turns on, and so the feature bit the guest record
 * must show negotiated (virtio-features.ts PROPERTY_FEATURES). qemu 7.2 has all three; `hash` is
 * only offered when the backend carries a vnet header (a tap does).
 */
export const NIC_FEATURE_PROPERTIES = {packed: 'packed', rss: 'rss', hash: 'hash'} as const
export type NicFeature = keyof typeof NIC_FEATURE_PROPERTIES

/** The mq and vectors the NIC is given: explicit ones, else mq=on with 2N+2 when N > 1. */
export function nicQueueModel(c: Pick<GuestConfig, 'queues' | 'mq' | 'vectors'>): {
  mq: boolean
  vectors: number | undefined
} {
  const mq = c.mq ?? c.queues > 1
  return {mq, vectors: c.vectors ?? (mq ? vectorsFor(c.queues) : undefined)}
}

export const guestPaths = (dir: string) => ({
  qmp: `${dir}/qmp.sock`,
  agent: `${dir}/agent.sock`,
  console: `${dir}/console.sock`,
  consoleLog: `${dir}/console.log`,
  pidfile: `${dir}/qemu.pid`,
})

/**
 * The vectors of N queue pairs, in one place. qemu's virtio-net-pci is given 2N+2 MSI-X vectors
 * (one per queue, config and control; fewer makes all queues share one); the guest's driver uses
 * 2N+1 of them (each queue and config: the control queue takes no interrupt).
 */
export const vectorsFor = (queues: number) => 2 * queues + 2
export const vectorsInUse = (queues: number) => 2 * queues + 1

export function qemuArgs(c: GuestConfig): string[] {
  const p = guestPaths(c.dir)
  const netdev = [
    'tap',
    'id=net0',
    `ifname=${c.tap}`,
    'script=no',
    'downscript=no',
    `queues=${c.queues}`,
    `vhost=${c.vhost ? 'on' : 'off'}`,
  ]
  // queues=1 gives a tap without multi_queue; mq=on with one queue pair is refused by nothing but
  // means nothing, so it is only set for more.
  const model = nicQueueModel(c)
  const nicOf = (k: number, mac: string) => {
    const d = ['virtio-net-pci', `netdev=net${k}`, `mac=${mac}`, `id=nic${k}`]
    if (c.mq !== undefined || model.mq) d.push(`mq=${model.mq ? 'on' : 'off'}`)
    if (model.vectors !== undefined) d.push(`vectors=${model.vectors}`)
    for (const f of c.nicFeatures ?? []) d.push(`${NIC_FEATURE_PROPERTIES[f]}=on`)
    return d.join(',')
  }
  const nic = [nicOf(0, c.mac)]
  const extra = (c.extraNics ?? []).flatMap((x, i) => [
    '-netdev',
    [...netdev.slice(0, 1), `id=net${i + 1}`, `ifname=${x.tap}`, ...netdev.slice(3)].join(','),
    '-device',
    nicOf(i + 1, x.mac),
  ])
  const cmdline = ['console=ttyS0', 'quiet', 'ipv6.disable=1', 'panic=0', ...c.append]
  return [
    '-name',
    `mqb-${c.name},debug-threads=on`,
    '-nodefaults',
    '-display',
    'none',
    '-machine',
    'pc',
    ...(c.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi']),
    '-smp',
    String(c.vcpus),
    '-m',
    `${c.memoryMiB}M`,
    '-kernel',
    c.kernel,
    '-initrd',
    c.initrd,
    '-append',
    cmdline.join(' '),
    '-pidfile',
    p.pidfile,
    // QMP: commands and events (a panic, a shutdown, DEVICE_DELETED) for mqbench's own client.
    '-chardev',
    `socket,id=qmp,path=${p.qmp},server=on,wait=off`,
    '-mon',
    'chardev=qmp,mode=control',
    // The console: a socket for `mqbench testbed console`, and a log file, without which
    // everything printed before a client connects is lost.
    '-chardev',
    `socket,id=con,path=${p.console},server=on,wait=off,logfile=${p.consoleLog}`,
    '-serial',
    'chardev:con',
    // The agent's control channel, independent of the NIC under test.
    '-device',
    'virtio-serial-pci,id=vser0',
    '-chardev',
    `socket,id=agent,path=${p.agent},server=on,wait=off`,
    '-device',
    `virtserialport,bus=vser0.0,chardev=agent,name=${AGENT_PORT_NAME}`,
    // A guest panic reaches QMP as GUEST_PANICKED at once; pause keeps the guest for --keep.
    '-device',
    'pvpanic-pci',
    '-action',
    'panic=pause',
    '-netdev',
    netdev.join(','),
    '-device',
    nic.join(','),
    ...extra,
    ...(c.incoming ? ['-incoming', c.incoming] : []),
  ]
}

/** A locally administered unicast MAC from the testbed name (52:54:00 is qemu's own prefix). */
export function guestMac(hashByte: number, name: string): string {
  let h = hashByte
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0
  const b = [0x52, 0x54, 0x00, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff]
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':')
}
