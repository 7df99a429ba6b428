// The observation layer and the check table on what a real multiqueue virtio-net guest showed:
// test/fixtures/observe/guest-virtio-2q/, captured by scripts/guest-fixtures.sh from a qemu
// guest (Debian 6.1 kernel, 2 vCPUs, `-device virtio-net-pci,mq=on,vectors=6`) before and after
// TCP flows pinned to each vCPU, and again after `ethtool -L eth0 combined 1`. Expected values
// are read from the capture's own files (irq-affinity, xps, traffic, ethtool -l), not typed in.
import {afterEach, describe, expect, it} from 'vitest'
import {evaluateChecks, type CheckEvidence, type CheckResult} from '../../src/check/checks.js'
import type {Channels} from '../../src/native.js'
import {readDeviceConfig} from '../../src/observe/config.js'
import {ethtoolQueueStats, parseEthtoolDriver, parseEthtoolStats} from '../../src/observe/ethtool.js'
import {
  deviceQueueInterrupts,
  dominantCpu,
  interruptDeltas,
  parseInterrupts,
} from '../../src/observe/interrupts.js'
import type {ObserveIO} from '../../src/observe/io.js'
import {observeDelta, takeSnapshot} from '../../src/observe/snapshot.js'
import {parseSoftnetStat, softnetDeltas} from '../../src/observe/softnet.js'
import {parseCpuMask} from '../../src/observe/sysfs.js'
import {tuneFindings} from '../../src/tune/findings.js'
import {buildTree, fixture, onTree} from '../fixtures/observe/tree.js'

const g = (name: string) => fixture(`guest-virtio-2q/${name}`)

/** `ethtool -l` text -> Channels ("n/a" is 0, as ETHTOOL_GCHANNELS reports it). */
function parseChannelsText(text: string): Channels {
  const [max, cur] = text.split(/Current hardware settings:/)
  const field = (part: string, k: string) => Number(new RegExp(`^${k}:\\s*(\\S+)`, 'm').exec(part)?.[1]) || 0
  return {
    maxRx: field(max, 'RX'),
    maxTx: field(max, 'TX'),
    maxOther: field(max, 'Other'),
    maxCombined: field(max, 'Combined'),
    rx: field(cur, 'RX'),
    tx: field(cur, 'TX'),
    other: field(cur, 'Other'),
    combined: field(cur, 'Combined'),
  }
}

/** `ls /sys/class/net/eth0/queues` -> counts. */
function queueCounts(ls: string): {rx: number; tx: number} {
  const names = ls.trim().split(/\s+/)
  return {
    rx: names.filter((n) => n.startsWith('rx-')).length,
    tx: names.filter((n) => n.startsWith('tx-')).length,
  }
}

/** irq-affinity.txt: "irq smp_affinity_list effective_affinity_list" per virtio line. */
const affinity = Object.fromEntries(
  g('irq-affinity.txt')
    .trim()
    .split('\n')
    .map((l) => {
      const [irq, allowed, effective] = l.trim().split(/\s+/)
      return [irq, {allowed, effective}]
    }),
)
const xps = g('xps-2.txt')
  .trim()
  .split('\n')
  .map((l) => l.trim().split(/\s+/)[1])
const driver = parseEthtoolDriver(g('ethtool-i.txt'))!
const vName = g('device-link.txt').trim().split('/').pop()!
const cpuCount = Number(g('nproc.txt').trim())

const trees: Array<{remove(): void}> = []
afterEach(() => {
  while (trees.length) trees.pop()!.remove()
})

/** A fake root shaped like the guest, with `interrupts` and `ethtool -S` as captured at one moment. */
function guest(state: {interrupts: string; stats: string; softnet?: string; queues: number}) {
  const t = buildTree({
    dev: 'eth0',
    rxQueues: state.queues,
    txQueues: state.queues,
    xps: state.queues === xps.length ? xps : undefined,
    deviceLink: `sys/devices/pci0000:00/${driver.busInfo}/${vName}`,
    interrupts: state.interrupts,
    softnet: state.softnet,
    irqAffinity: affinity,
    onlineCpus: `0-${cpuCount - 1}`,
  })
  trees.push(t)
  const io: Partial<ObserveIO> = {
    ethtool: (a) => ({'-i': g('ethtool-i.txt'), '-S': state.stats, '-k': g('ethtool-k.txt')})[a[0]],
    channels: () => parseChannelsText(g(state.queues === 1 ? 'ethtool-l-1.txt' : 'ethtool-l.txt')),
  }
  return {root: t.root, io}
}

const twoQ = {
  before: {
    interrupts: g('interrupts-before.txt'),
    stats: g('ethtool-S-before.txt'),
    softnet: g('softnet-before.txt'),
    queues: 2,
  },
  after: {
    interrupts: g('interrupts-after.txt'),
    stats: g('ethtool-S-after.txt'),
    softnet: g('softnet-after.txt'),
    queues: 2,
  },
}
const oneQ = {
  before: {interrupts: g('interrupts-1q-before.txt'), stats: g('ethtool-S-1q-before.txt'), queues: 1},
  after: {interrupts: g('interrupts-1q-after.txt'), stats: g('ethtool-S-1q-after.txt'), queues: 1},
}
const snap = (s: Parameters<typeof guest>[0]) => {
  const {root, io} = guest(s)
  return takeSnapshot('eth0', onTree(root, io))
}
/** bytes each flow read back from the echo server (traffic-N.txt) */
const echoed = (file: string) =>
  g(file)
    .trim()
    .split('\n')
    .reduce((s, l) => s + Number(l), 0)

describe('a real virtio-net guest with 2 queue pairs: /proc/interrupts', () => {
  const before = parseInterrupts(twoQ.before.interrupts)
  const after = parseInterrupts(twoQ.after.interrupts)
  const lines = deviceQueueInterrupts(after, 'eth0', {virtioName: vName})

  it('parses the 6.1 MSI format (chip PCI-MSI, hwirq <n>-edge) and finds input/output lines per queue', () => {
    expect(after.cpus).toEqual(Array.from({length: cpuCount}, (_, i) => i))
    expect(after.lines.find((l) => l.name === `${vName}-input.0`)).toMatchObject({
      chip: 'PCI-MSI',
      hwirq: expect.stringMatching(/^\d+-edge$/),
    })
    expect(lines.map((q) => `${q.direction}${q.queue}:${q.name}`)).toEqual([
      `rx0:${vName}-input.0`,
      `rx1:${vName}-input.1`,
      `tx0:${vName}-output.0`,
      `tx1:${vName}-output.1`,
    ])
    // the config vector belongs to the device but to no queue
    expect(after.lines.some((l) => l.name === `${vName}-config`)).toBe(true)
    expect(lines.some((q) => q.name.endsWith('-config'))).toBe(false)
  })

  it('under traffic every queue line rose, on the CPU its affinity names', () => {
    const deltas = interruptDeltas(before, after, lines)
    expect(deltas).toHaveLength(4)
    for (const d of deltas) {
      expect(d.total, d.name).toBeGreaterThan(0)
      expect(String(dominantCpu(d, after.cpus)), d.name).toBe(affinity[d.irq].effective)
    }
    // virtio-net spreads its queue pairs 1:1 over the vCPUs
    expect(new Set(deltas.map((d) => affinity[d.irq].effective))).toEqual(new Set(['0', '1']))
  })

  it('after `ethtool -L combined 1` the queue-1 vectors stay listed but only queue 0 rises', () => {
    const b = parseInterrupts(oneQ.before.interrupts)
    const a = parseInterrupts(oneQ.after.interrupts)
    const deltas = interruptDeltas(b, a, deviceQueueInterrupts(a, 'eth0', {virtioName: vName}))
    expect(deltas.map((d) => d.queue)).toEqual([0, 1, 0, 1])
    expect(deltas.filter((d) => d.queue === 0).every((d) => d.total > 0)).toBe(true)
    expect(deltas.filter((d) => d.queue === 1).map((d) => d.total)).toEqual([0, 0])
  })
})

describe('a real virtio-net guest with 2 queue pairs: ethtool -S and snapshots', () => {
  it('6.1 names its per-queue counters rx_queue_N_* / tx_queue_N_*: packets, bytes, drops and kicks per queue', () => {
    const stats = parseEthtoolStats(twoQ.after.stats)
    expect(Object.keys(stats)).toContain('rx_queue_1_packets')
    const qs = ethtoolQueueStats(stats, driver.driver)
    expect(qs.map((q) => q.queue)).toEqual([0, 1])
    for (const q of qs) {
      // rx_queue_N_xdp_packets (0 here) must not stand in for rx_queue_N_packets
      expect(q.rx.packets).toBe(stats[`rx_queue_${q.queue}_packets`])
      expect(q.tx).toEqual({
        packets: stats[`tx_queue_${q.queue}_packets`],
        bytes: stats[`tx_queue_${q.queue}_bytes`],
        kicks: stats[`tx_queue_${q.queue}_kicks`],
      })
      expect(q.rx.kicks).toBe(stats[`rx_queue_${q.queue}_kicks`])
    }
  })

  it('a snapshot of the guest knows the driver and virtio name; the delta counts both queues from ethtool', () => {
    const b = snap(twoQ.before)
    const a = snap(twoQ.after)
    expect(a.driver?.driver).toBe('virtio_net')
    expect(a.virtioName).toBe(vName)
    expect(a.queueCounts).toEqual(queueCounts(g('queues-2.txt')))
    const d = observeDelta(b, a)
    expect(d.queues.map((q) => [q.queue, q.source])).toEqual([
      [0, 'ethtool'],
      [1, 'ethtool'],
    ])
    for (const q of d.queues) {
      expect(q.rxPackets, `queue ${q.queue}`).toBeGreaterThan(0)
      expect(q.txPackets, `queue ${q.queue}`).toBeGreaterThan(0)
      expect(q.drops).toBe(0)
    }
    // every echoed byte crossed the queues once each way, headers on top
    const sent = echoed('traffic-2.txt')
    expect(d.queues.reduce((s, q) => s + q.rxBytes, 0)).toBeGreaterThanOrEqual(sent)
    expect(d.queues.reduce((s, q) => s + q.txBytes, 0)).toBeGreaterThanOrEqual(sent)
    // both vCPUs processed receive work
    expect(d.softnet.map((s) => s.cpu)).toEqual([0, 1])
    expect(d.softnet.every((s) => s.processed > 0)).toBe(true)
  })

  it('6.1 softnet_stat has 13 columns with the CPU number last', () => {
    const rows = parseSoftnetStat(twoQ.after.softnet)
    expect(rows.map((r) => r.cpu)).toEqual([0, 1])
    expect(softnetDeltas(parseSoftnetStat(twoQ.before.softnet), rows).every((r) => r.dropped === 0)).toBe(
      true,
    )
  })

  it('at 1 queue ethtool -S lists queue 0 only, so the traffic is all on queue 0', () => {
    const d = observeDelta(snap(oneQ.before), snap(oneQ.after))
    expect(d.queues.map((q) => q.queue)).toEqual([0])
    expect(d.queues[0].rxBytes).toBeGreaterThanOrEqual(echoed('traffic-1.txt'))
    expect(queueCounts(g('queues-1.txt'))).toEqual({rx: 1, tx: 1})
  })
})

const by = (r: CheckResult[]) => Object.fromEntries(r.map((c) => [c.id, c]))

/** The check plan's evidence at 2 queues, from the capture. No RR load ran in the guest, so no load1. */
function evidence(): CheckEvidence {
  const b = snap(twoQ.before)
  const a = snap(twoQ.after)
  const {root, io} = guest(twoQ.after)
  return {
    dev: 'eth0',
    queues: 2,
    onlineCpus: Array.from({length: cpuCount}, (_, i) => i),
    original: parseChannelsText(g('ethtool-l.txt')),
    afterSet: parseChannelsText(g('ethtool-l.txt')),
    sysfsAfterSet: queueCounts(g('queues-2.txt')),
    config: readDeviceConfig('eth0', onTree(root, io)),
    loadN: {
      queueCount: 2,
      transactionsPerSecond: Number.NaN,
      before: b,
      after: a,
      interrupts: observeDelta(b, a).interrupts,
    },
  }
}

describe('the check table on the real guest', () => {
  it('passes the channel, sysfs, per-queue interrupt, per-queue ethtool and spread checks', () => {
    const r = by(evaluateChecks(evidence()))
    expect(r['channels-max']).toMatchObject({status: 'PASS', evidence: 'combined 2 (max 2); need 2'})
    expect(r['channels-set']).toMatchObject({status: 'PASS', evidence: 'read back combined 2 (max 2)'})
    expect(r['sysfs-queues']).toMatchObject({status: 'PASS', evidence: '2 rx-*, 2 tx-*'})
    expect(r['irq-per-queue'].status).toBe('PASS')
    expect(r['irq-per-queue'].evidence).toMatch(
      new RegExp(
        `^${vName}-input.0 \\+\\d+, ${vName}-input.1 \\+\\d+, ${vName}-output.0 \\+\\d+, ${vName}-output.1 \\+\\d+$`,
      ),
    )
    expect(r['ethtool-per-queue'].status).toBe('PASS')
    expect(r['ethtool-per-queue'].evidence).toMatch(
      /^rx0 packets \+\d+, tx0 packets \+\d+, rx1 packets \+\d+, tx1 packets \+\d+$/,
    )
    expect(r['irq-spread'].status).toBe('PASS')
    const rxIrq = (q: number) =>
      Object.keys(affinity).find(
        (irq) =>
          parseInterrupts(twoQ.after.interrupts).lines.find((l) => l.irq === irq)?.name ===
          `${vName}-input.${q}`,
      )!
    expect(r['irq-spread'].evidence).toBe(
      `2 CPUs: ${vName}-input.0->CPU${affinity[rxIrq(0)].effective}, ${vName}-input.1->CPU${affinity[rxIrq(1)].effective}; ` +
        `affinity masks pin them (${rxIrq(0)}:${affinity[rxIrq(0)].allowed} ${rxIrq(1)}:${affinity[rxIrq(1)].allowed})`,
    )
  })

  it('the guest left at 1 queue fails the restore check with both counts', () => {
    const r = by(evaluateChecks({...evidence(), restored: parseChannelsText(g('ethtool-l-1.txt'))}))
    expect(r.restore).toMatchObject({status: 'FAIL', evidence: 'combined 1 (max 2); was combined 2 (max 2)'})
  })

  it('a 2-queue check on the guest running at 1 queue names queue 1 in both per-queue checks', () => {
    const b = snap(oneQ.before)
    const a = snap(oneQ.after)
    const e: CheckEvidence = {
      ...evidence(),
      loadN: {
        queueCount: 2,
        transactionsPerSecond: Number.NaN,
        before: b,
        after: a,
        interrupts: observeDelta(b, a).interrupts,
      },
    }
    const r = by(evaluateChecks(e))
    expect(r['irq-per-queue'].status).toBe('FAIL')
    expect(r['irq-per-queue'].evidence).toMatch(
      new RegExp(`^${vName}-input.1 stayed at zero; ${vName}-output.1 stayed at zero`),
    )
    // virtio_net drops queues above curr_queue_pairs from ethtool -S: absent is not "rose"
    expect(r['ethtool-per-queue'].status).toBe('FAIL')
    expect(r['ethtool-per-queue'].evidence).toMatch(/^queue 1 has no counter in ethtool -S/)
  })
})

describe('tune findings on the real guest', () => {
  it('2 combined channels on 2 vCPUs, IRQs 1:1 and XPS set by virtio_net: nothing to warn about channels, IRQs or XPS', () => {
    const {root, io} = guest(twoQ.after)
    const c = readDeviceConfig('eth0', onTree(root, io))
    expect(c.txQueues.map((q) => q.xpsCpus)).toEqual(xps.map((m) => parseCpuMask(m)))
    const f = tuneFindings(c)
    const warn = f.filter((x) => x.level === 'warn').map((x) => x.area)
    expect(warn).not.toContain('channels')
    expect(warn).not.toContain('irq-affinity')
    expect(warn).not.toContain('xps')
    expect(f.find((x) => x.area === 'channels')?.finding).toBe('2 combined channels (maximum 2) on 2 CPUs')
  })
})
