import {afterEach, describe, expect, it} from 'vitest'
import {evaluateChecks, type CheckEvidence, type CheckResult} from '../../src/check/checks.js'
import type {Channels} from '../../src/native.js'
import {readDeviceConfig} from '../../src/observe/config.js'
import {observeDelta, takeSnapshot} from '../../src/observe/snapshot.js'
import {buildTree, fixture, onTree} from '../fixtures/observe/tree.js'

const trees: Array<{remove(): void}> = []
afterEach(() => {
  while (trees.length) trees.pop()!.remove()
})

const combined = (n: number, max = 4): Channels => ({
  maxRx: 0,
  maxTx: 0,
  maxOther: 0,
  maxCombined: max,
  rx: 0,
  tx: 0,
  other: 0,
  combined: n,
})

function guestSnapshot(
  interrupts: string,
  affinity: string[] = ['0', '0', '1', '1', '2', '2', '3', '3'],
  processes: string[] = [],
) {
  const t = buildTree({
    dev: 'eth0',
    rxQueues: 4,
    txQueues: 4,
    deviceLink: 'sys/devices/pci0000:00/0000:00:03.0/virtio0',
    interrupts,
    onlineCpus: '0-3',
    processes,
    irqAffinity: Object.fromEntries(
      ['25', '26', '27', '28', '29', '30', '31', '32'].map((irq, i) => [irq, {allowed: affinity[i]}]),
    ),
  })
  trees.push(t)
  return {snap: takeSnapshot('eth0', onTree(t.root)), config: readDeviceConfig('eth0', onTree(t.root))}
}

/** Evidence of a 4-queue virtio guest whose load moved the lines from `before` to `after`. */
function evidence(
  before: string,
  after: string,
  over: Partial<CheckEvidence> = {},
  affinity?: string[],
  processes?: string[],
): CheckEvidence {
  const b = guestSnapshot(before, affinity, processes)
  const a = guestSnapshot(after, affinity, processes)
  return {
    dev: 'eth0',
    queues: 4,
    onlineCpus: [0, 1, 2, 3],
    original: combined(1),
    afterSet: combined(4),
    sysfsAfterSet: {rx: 4, tx: 4},
    config: a.config,
    loadN: {
      queueCount: 4,
      transactionsPerSecond: 80_000,
      before: b.snap,
      after: a.snap,
      interrupts: observeDelta(b.snap, a.snap).interrupts,
    },
    load1: {queueCount: 1, transactionsPerSecond: 40_000, before: b.snap, after: a.snap, interrupts: []},
    restored: combined(1),
    ...over,
  }
}
const by = (r: CheckResult[]) => Object.fromEntries(r.map((c) => [c.id, c]))

// Every line of queues 0..3 rises (queue 1 too, unlike the -after fixture where it stays idle).
const allRise = fixture('interrupts-virtio-4q-after.txt')
  .replace(/(\s27:\s+0\s+)9120/, '$19920')
  .replace(/(\s28:\s+0\s+)7781/, '$17981')

describe('check evaluation on a virtio-net guest with 4 queue pairs', () => {
  it('passes when every queue line rose on its own CPU, and reports both transaction rates', () => {
    const r = by(evaluateChecks(evidence(fixture('interrupts-virtio-4q.txt'), allRise)))
    expect(Object.values(r).map((c) => c.status)).toEqual([
      'PASS',
      'PASS',
      'PASS',
      'PASS',
      'N/A',
      'PASS',
      'PASS',
      'PASS',
    ])
    expect(r['irq-per-queue'].evidence).toContain('virtio0-input.1 +800')
    expect(r['irq-spread'].evidence).toMatch(
      /^4 CPUs: virtio0-input.0->CPU0, virtio0-input.1->CPU1, virtio0-input.2->CPU2, virtio0-input.3->CPU3; affinity masks pin them/,
    )
    expect(r['ethtool-per-queue'].evidence).toContain('no per-queue counters')
    expect(r['one-queue'].evidence).toBe(
      '1 queue: 40,000 transactions/s; 4 queues: 80,000 transactions/s (2.00x)',
    )
  })

  it('a queue whose lines stayed at zero is a FAIL naming the queue', () => {
    const r = by(
      evaluateChecks(
        evidence(fixture('interrupts-virtio-4q.txt'), fixture('interrupts-virtio-4q-after.txt')),
      ),
    )
    expect(r['irq-per-queue'].status).toBe('FAIL')
    expect(r['irq-per-queue'].evidence).toMatch(
      /^virtio0-input.1 stayed at zero; virtio0-output.1 stayed at zero/,
    )
  })

  it('all queue interrupts on one CPU is a FAIL that names irqbalance or the masks', () => {
    // the receive lines' counts all on CPU 0, before and after
    const onCpu0 = (text: string) =>
      text.replace(
        /^(\s*(?:25|27|29|31):)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/gm,
        (_m, irq, a, b, c, d) => `${irq} ${Number(a) + Number(b) + Number(c) + Number(d)} 0 0 0`,
      )
    const r = by(
      evaluateChecks(
        evidence(
          onCpu0(fixture('interrupts-virtio-4q.txt')),
          onCpu0(allRise),
          {},
          ['0-3', '0', '0-3', '1', '0-3', '2', '0-3', '3'],
          ['irqbalance'],
        ),
      ),
    )
    expect(r['irq-spread'].status).toBe('FAIL')
    expect(r['irq-spread'].evidence).toMatch(/^all on one CPU: .*; irqbalance is running and places them$/)
  })

  it('one shared vector for all queues fails the per-queue check', () => {
    const t = buildTree({
      dev: 'eth0',
      rxQueues: 2,
      txQueues: 2,
      deviceLink: 'sys/devices/pci0000:00/0000:00:03.0/virtio0',
      interrupts: fixture('interrupts-old-kernel-shared.txt'),
      onlineCpus: '0-1',
    })
    trees.push(t)
    const s = takeSnapshot('eth0', onTree(t.root))
    const e: CheckEvidence = {
      dev: 'eth0',
      queues: 2,
      onlineCpus: [0, 1],
      original: combined(2),
      loadN: {
        queueCount: 2,
        transactionsPerSecond: 1,
        before: s,
        after: s,
        interrupts: observeDelta(s, s).interrupts,
      },
    }
    const r = by(evaluateChecks(e))
    expect(r['irq-per-queue']).toMatchObject({status: 'FAIL'})
    expect(r['irq-per-queue'].evidence).toContain('all queues share virtio0-virtqueues +0')
  })

  it('channel problems: a too small maximum, a read-back that differs, a restore that did not take', () => {
    const e = evidence(fixture('interrupts-virtio-4q.txt'), allRise)
    const r = by(
      evaluateChecks({
        ...e,
        original: combined(1, 2),
        afterSet: undefined,
        sysfsAfterSet: undefined,
        loadN: undefined,
        loadNError: 'eth0 has 1 rx and 1 tx queues, not 4',
        load1: undefined,
        restored: combined(1, 2),
      }),
    )
    expect(r['channels-max']).toMatchObject({status: 'FAIL', evidence: 'combined 1 (max 2); need 4'})
    expect(r['irq-per-queue']).toMatchObject({
      status: 'N/A',
      evidence: 'eth0 has 1 rx and 1 tx queues, not 4',
    })
    expect(by(evaluateChecks({...e, afterSet: combined(2)}))['channels-set'].status).toBe('FAIL')
    expect(by(evaluateChecks({...e, restored: combined(4)})).restore).toMatchObject({
      status: 'FAIL',
      evidence: 'combined 4 (max 4); was combined 1 (max 4)',
    })
  })

  it('a driver without channels fails the first check and leaves the rest N/A or unrun', () => {
    const r = by(
      evaluateChecks({
        dev: 'tap0',
        queues: 2,
        onlineCpus: [0, 1],
        originalError: 'Operation not supported (the driver has no channels)',
        loadNError: 'not run',
      }),
    )
    expect(r['channels-max']).toMatchObject({
      status: 'FAIL',
      evidence: 'ethtool -l tap0: Operation not supported (the driver has no channels)',
    })
    expect(r.restore.status).toBe('N/A')
    expect(r['one-queue'].status).toBe('N/A')
  })

  // issue 10 case 9: equal channels before and after prove nothing when nothing was changed
  it('says N/A, not PASS, for the restore when the channel count was never changed', () => {
    const r = by(
      evaluateChecks(
        evidence(fixture('interrupts-virtio-4q.txt'), allRise, {
          afterSet: undefined,
          sysfsAfterSet: undefined,
          restored: combined(1),
        }),
      ),
    )
    expect(r.restore).toMatchObject({status: 'N/A', evidence: 'the channel count was not changed'})
  })
})
