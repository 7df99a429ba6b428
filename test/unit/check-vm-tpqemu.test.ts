// The pure parts of tp-qemu's cases: the PCI capability walk (real config spaces read in guests:
// 6 and 514 MSI-X vectors, and INTx), the channel, interrupt and ethtool -S parsers at 2, 10, 16
// and 256 queues (real guest output; tp-qemu's `Combined:\s+(\d)` reads one digit), and every
// judge of default_state, vectors, negative, churn, affinity and mq_off.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {
  judgeFlows,
  judgeIrqAffinity,
  judgeXps,
  queueAffinities,
  queueCpus,
  type PinnedFlow,
} from '../../src/check/vm/cases/affinity.js'
import {churnSequence, judgeChanges, judgeLoss, judgeRr, judgeStream} from '../../src/check/vm/cases/churn.js'
import {defaultStateQueues, judgeDefaultState} from '../../src/check/vm/cases/default-state.js'
import {judgeMqOff} from '../../src/check/vm/cases/mq-off.js'
import {judgeBootRefusal} from '../../src/check/vm/cases/negative-qemu.js'
import {judgeRefused, judgeSameValue} from '../../src/check/vm/cases/negative.js'
import {judgeIntx, judgeShared, judgeVectors} from '../../src/check/vm/cases/vectors.js'
import {parseIrqAffinity, parseXps, type VectorFacts} from '../../src/check/vm/guest-irq.js'
import type {GuestFacts} from '../../src/check/vm/guest-facts.js'
import {missingQueueLines} from '../../src/check/vm/guest-facts.js'
import {detects} from '../../src/check/vm/judge.js'
import {ethtoolQueueStats, parseEthtoolChannels, parseEthtoolStats} from '../../src/observe/ethtool.js'
import {deviceQueueInterrupts, parseInterrupts} from '../../src/observe/interrupts.js'
import type {DeviceSnapshot} from '../../src/observe/snapshot.js'
import type {RrResult, StreamResult} from '../../src/results/schema.js'
import {msixCapability, pciCapabilities} from '../../src/vm/pci-config.js'
import {ExitCode, MqbError} from '../../src/errors.js'
import {fixture, fixtureDir} from '../fixtures/observe/tree.js'

const config = (name: string) =>
  Buffer.from(readFileSync(join(fixtureDir, 'pci-config', `${name}.b64`), 'utf8').trim(), 'base64')

describe('PCI config space', () => {
  it('finds the MSI-X table size of a virtio-net NIC given 6 and 514 vectors', () => {
    expect(msixCapability(config('virtio-net-6-vectors'))).toEqual({
      offset: 0x98,
      tableSize: 6,
      enabled: true,
      functionMask: false,
    })
    // 514 needs the whole 11-bit field: a walk that masked fewer bits would read 2.
    expect(msixCapability(config('virtio-net-514-vectors'))).toMatchObject({tableSize: 514, enabled: true})
  })
  it('says there is none on a device given vectors=0, listing what it has', () => {
    const r = msixCapability(config('virtio-net-intx'))
    expect(r).toEqual({error: expect.stringMatching(/^no MSI-X capability \(capabilities 0x09@0x84 /)})
  })
  it('stops at a loop, a pointer outside the bytes read and a short read', () => {
    const c = Buffer.from(config('virtio-net-6-vectors'))
    const first = c[0x34]
    c[first + 1] = first // the first capability points to itself
    expect(pciCapabilities(c).error).toMatch(/loops at 0x/)
    expect(pciCapabilities(config('virtio-net-6-vectors').subarray(0, 0x80)).error).toMatch(
      /outside the 128 bytes/,
    )
    expect(msixCapability(config('virtio-net-6-vectors').subarray(0, 32))).toEqual({
      error: 'config space is 32 bytes, under the 64 of a header',
    })
    const noList = Buffer.from(config('virtio-net-6-vectors'))
    noList[0x06] &= ~0x10
    expect(pciCapabilities(noList)).toEqual({caps: []})
  })
})

// tp-qemu's parse of `ethtool -l` (qemu/tests/mq_change_qnum.py and friends).
const tpQemuCombined = (text: string) => [...text.matchAll(/Combined:\s+(\d)/g)].map((m) => Number(m[1]))

describe('parsers at 10, 16 and 256 queues', () => {
  const dirs = {
    2: 'guest-virtio-2q',
    10: 'guest-virtio-10q',
    16: 'guest-virtio-16q',
    256: 'guest-virtio-256q',
  }
  for (const n of [10, 16, 256] as const) {
    const f = (name: string) => fixture(`${dirs[n]}/${name}`)
    it(`ethtool -l with ${n} queue pairs`, () => {
      expect(parseEthtoolChannels(f('ethtool-l.txt'))).toEqual({
        maxRx: 0,
        maxTx: 0,
        maxOther: 0,
        maxCombined: n,
        rx: 0,
        tx: 0,
        other: 0,
        combined: n,
      })
      // what one digit makes of it
      expect(tpQemuCombined(f('ethtool-l.txt'))).toEqual([Number(String(n)[0]), Number(String(n)[0])])
    })
    it(`/proc/interrupts with ${n} queue pairs: every input.K and output.K, none missing`, () => {
      const t = parseInterrupts(f('interrupts.txt'))
      const q = deviceQueueInterrupts(t, 'eth0', {virtioName: 'virtio1'})
      expect(q).toHaveLength(2 * n)
      expect(q.filter((l) => l.direction === 'rx').map((l) => l.queue)).toEqual([...Array(n).keys()])
      expect(q.at(-1)).toMatchObject({name: `virtio1-output.${n - 1}`, direction: 'tx', queue: n - 1})
      expect(missingQueueLines({queueInterrupts: q} as DeviceSnapshot, n)).toEqual([])
      expect(missingQueueLines({queueInterrupts: q.slice(0, -1)} as DeviceSnapshot, n)).toEqual([
        `output.${n - 1}`,
      ])
    })
    it(`ethtool -S with ${n} queue pairs: packets and kicks of every queue`, () => {
      const stats = ethtoolQueueStats(parseEthtoolStats(f('ethtool-S.txt')), 'virtio_net')
      expect(stats.map((s) => s.queue)).toEqual([...Array(n).keys()])
      for (const s of stats) {
        expect(s.rx.packets).toBeTypeOf('number')
        expect(s.tx.kicks).toBeTypeOf('number')
      }
    })
  }
  it('ethtool -l of the 2-queue guest at boot, and text it cannot read', () => {
    expect(parseEthtoolChannels(fixture('guest-virtio-2q/ethtool-l.txt'))).toMatchObject({maxCombined: 2})
    expect(
      parseEthtoolChannels('Channel parameters for eth0:\nPre-set maximums:\nCombined: 4\n'),
    ).toBeUndefined()
    expect(parseEthtoolChannels('netlink error: Operation not supported')).toBeUndefined()
  })
})

const facts = (over: Partial<VectorFacts> = {}): VectorFacts => ({
  pci: '0000:00:04.0',
  msix: {offset: 0x98, tableSize: 6, enabled: true, functionMask: false},
  msiIrqs: [24, 25, 26, 27, 28],
  interrupts: parseInterrupts(fixture('interrupts-virtio-4q.txt')),
  ...over,
})

describe('vectors judges', () => {
  it('2N+2 offered and 2N+1 taken PASS; a table or an allocation that differs FAILs', () => {
    expect(judgeVectors(facts(), 6, 2).map((c) => c.status)).toEqual(['PASS', 'PASS'])
    const scarce = judgeVectors(facts({msiIrqs: [24, 25]}), 6, 2)
    expect(scarce[1]).toMatchObject({status: 'FAIL', evidence: '2 entries in msi_irqs (24, 25)'})
    expect(judgeVectors(facts({msix: {error: 'no MSI-X capability'}}), 6, 2)[0].status).toBe('FAIL')
  })
  it('a shared virtqueues line PASSes only without per-queue lines', () => {
    const shared = parseInterrupts(
      '           CPU0       CPU1\n 24:  0  0   PCI-MSI 65536-edge      virtio1-config\n 25:  9  4   PCI-MSI 65537-edge      virtio1-virtqueues\n',
    )
    expect(judgeShared(facts({interrupts: shared, msiIrqs: [24, 25]}), 'virtio1', 3).status).toBe('PASS')
    expect(judgeShared(facts(), 'virtio1', 6).status).toBe('FAIL')
  })
  it('INTx: an IO-APIC line naming the device, no MSI vectors', () => {
    const intx = parseInterrupts(
      '           CPU0       CPU1\n 11:          1          0   IO-APIC  11-fasteoi   virtio1\n',
    )
    expect(judgeIntx(facts({interrupts: intx, msiIrqs: [], msix: {error: 'none'}}), 'virtio1')).toMatchObject(
      {
        status: 'PASS',
        evidence: expect.stringMatching(/IO-APIC lines: 11 11-fasteoi virtio1$/),
      },
    )
    expect(judgeIntx(facts(), 'virtio1').status).toBe('FAIL')
  })
  it('a broken setup is detected when the inner check FAILs, and not otherwise', () => {
    const inner = {id: 'irq-per-queue', title: 'per queue', status: 'FAIL' as const, evidence: 'shared'}
    expect(detects('d', 't', inner, 'vectors=3').status).toBe('PASS')
    expect(detects('d', 't', {...inner, status: 'PASS'}, 'vectors=3').status).toBe('FAIL')
    expect(detects('d', 't', {...inner, status: 'N/A'}, 'vectors=3').status).toBe('FAIL')
    expect(detects('d', 't', undefined, 'vectors=3').status).toBe('FAIL')
  })
})

describe('default_state judge', () => {
  const base = {
    queues: 4,
    vcpus: 2,
    probe: {combined: 2, maxCombined: 4},
    facts: {tap: {numqueues: 2, numdisabled: 2, multiQueue: true}, sysfs: {rx: 2, tx: 2}},
    ethtoolL: parseEthtoolChannels(fixture('guest-virtio-16q/ethtool-l.txt').replaceAll('16', '4'))!,
  }
  it('takes twice the vCPUs so that min() shows', () => {
    expect(defaultStateQueues({queues: 2, vcpus: 2} as never)).toBe(4)
    expect(defaultStateQueues({queues: 8, vcpus: 2} as never)).toBe(8)
  })
  it('PASSes a guest that enabled min(queues, vCPUs) at probe', () => {
    const e = {...base, ethtoolL: {...base.ethtoolL, combined: 2}}
    const r = judgeDefaultState(e)
    expect(r.map((c) => c.status)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'PASS'])
    expect(r[1].evidence).toBe('the guest enabled 2 at probe, without ethtool')
  })
  it('records a guest that needed ethtool -L, and FAILs the witnesses that disagree', () => {
    const r = judgeDefaultState({
      ...base,
      probe: {combined: 1, maxCombined: 4},
      afterSet: {combined: 2, setStatus: 0, setError: ''},
      facts: {tap: {numqueues: 1, numdisabled: 3, multiQueue: true}, sysfs: {rx: 2, tx: 2}},
      ethtoolL: 'Cannot get device channel parameters',
    })
    expect(r[1]).toMatchObject({
      status: 'PASS',
      evidence: expect.stringMatching(/enabled 1 at probe and needed ethtool -L/),
    })
    expect(r[3]).toMatchObject({status: 'FAIL', evidence: '1 attached, 3 detached'})
    expect(r[4]).toMatchObject({status: 'FAIL', evidence: expect.stringMatching(/^unparsed: /)})
    expect(judgeDefaultState({...base, probe: {combined: 1, maxCombined: 1}})[0].status).toBe('FAIL')
  })
})

describe('negative judges', () => {
  const a = {
    asked: 3,
    status: 1,
    message: 'netlink error: requested channel count exceeds maximum',
    combined: 2,
    maxCombined: 2,
  }
  it('a refusal that leaves the state PASSes; an acceptance or a change FAILs', () => {
    expect(judgeRefused('above-max', 't', a, 2).status).toBe('PASS')
    expect(judgeRefused('above-max', 't', {...a, status: 0, changed: 'channels say 3'}, 2)).toMatchObject({
      status: 'FAIL',
      evidence: expect.stringMatching(/: exit 0 \(.*\); channels say 3: accepted$/),
    })
    expect(judgeRefused('above-max', 't', {...a, status: 0}, 2).status).toBe('FAIL')
  })
  it('the count in force: the state decides, not the exit status', () => {
    expect(judgeSameValue({...a, asked: 2, status: 1}).status).toBe('PASS')
    expect(judgeSameValue({...a, asked: 2, status: 0, changed: 'tap has 1 attached'}).status).toBe('FAIL')
  })
})

const rrResult = (sessions: Array<Partial<RrResult['sessions'][number]>>): RrResult =>
  ({
    transactionsPerSecond: 1000,
    sessions: sessions.map((s) => ({transactions: 100, errors: 0, stalled: false, ...s})),
  }) as RrResult

describe('churn', () => {
  it('changes 1..N then 1,2,1,3,...,1,N from N in force, never to the count in force', () => {
    expect(churnSequence(2, 5)).toEqual([1, 2, 1, 2, 1])
    expect(churnSequence(4, 14)).toEqual([1, 2, 3, 4, 1, 2, 1, 3, 1, 4, 1, 2, 3, 4])
    expect(churnSequence(16, 50).every((k, i, s) => k >= 1 && k <= 16 && k !== (i ? s[i - 1] : 16))).toBe(
      true,
    )
    expect(churnSequence(1, 50)).toEqual([])
  })
  it('judges the changes, the sessions, the stream and the loss', () => {
    const ok = Array.from({length: 4}, (_, i) => ({to: (i % 2) + 1, ms: 80}))
    expect(judgeChanges(ok, 4, 4).status).toBe('PASS')
    expect(judgeChanges(ok, 4, 3).status).toBe('FAIL')
    expect(
      judgeChanges([...ok.slice(0, 3), {to: 2, ms: 90, error: 'tap has 1 attached'}], 4, 4),
    ).toMatchObject({
      status: 'FAIL',
      evidence: expect.stringMatching(/1 failed, first: to 2: tap has 1 attached/),
    })
    expect(judgeRr(rrResult([{}, {}]), 2).status).toBe('PASS')
    expect(judgeRr(rrResult([{}, {stalled: true}]), 2).status).toBe('FAIL')
    expect(judgeRr(rrResult([{}]), 2).status).toBe('FAIL')
    expect(judgeRr({error: 'the server closed the control connection'}, 2).status).toBe('FAIL')
    expect(judgeLoss(rrResult([{transactions: 960, errors: 40}]))).toMatchObject({
      status: 'PASS',
      evidence: '40 lost of 1000 (4.00%)',
    })
    expect(judgeLoss(rrResult([{transactions: 940, errors: 60}])).status).toBe('FAIL')
    expect(judgeLoss(rrResult([{transactions: 0, errors: 0}])).status).toBe('FAIL')
    const stream = {gbps: 0.5, sessions: [{bytes: 1e6}]} as StreamResult
    expect(judgeStream(stream).status).toBe('PASS')
    expect(judgeStream({...stream, sessions: [{bytes: 0}]} as StreamResult).status).toBe('FAIL')
  })
})

describe('affinity', () => {
  const lines = deviceQueueInterrupts(
    parseInterrupts(fixture('guest-virtio-2q/interrupts-after.txt')),
    'eth0',
    {
      virtioName: 'virtio0',
    },
  )
  const read = parseIrqAffinity('25 1 1\n26 1 1\n27 2 2\n28 2 2\n')
  it('reads /proc/irq masks and XPS masks', () => {
    expect(read[2]).toEqual({irq: '27', hint: [1], affinity: [1]})
    expect(parseXps('0 1\n1 2\n')).toEqual([[0], [1]])
    expect(parseXps('1 2\n')).toEqual([[], [1]])
  })
  it('PASSes virtio_net placement: a vCPU per queue, XPS the same', () => {
    expect(lines.map((l) => l.irq)).toEqual(['25', '27', '26', '28'])
    const qs = queueAffinities(lines, read, 2)
    expect(qs.map(queueCpus)).toEqual([[0], [1]])
    expect(judgeIrqAffinity(qs).status).toBe('PASS')
    expect(judgeXps(qs, [[0], [1]]).status).toBe('PASS')
    expect(judgeXps(qs, [[1], [0]])).toMatchObject({
      status: 'FAIL',
      evidence: 'tx-0 xps 1 (irq vCPUs 0), tx-1 xps 0 (irq vCPUs 1)',
    })
  })
  it('FAILs queues on one vCPU, missing hints, and an affinity outside the hint', () => {
    const same = queueAffinities(lines, parseIrqAffinity('25 1 1\n26 1 1\n27 1 1\n28 1 1\n'), 2)
    expect(judgeIrqAffinity(same).status).toBe('FAIL')
    const none = queueAffinities(lines, parseIrqAffinity('25 0 3\n26 0 3\n27 0 3\n28 0 3\n'), 2)
    expect(judgeIrqAffinity(none).status).toBe('FAIL')
    const moved = queueAffinities(lines, parseIrqAffinity('25 1 2\n26 1 1\n27 2 2\n28 2 2\n'), 2)
    expect(judgeIrqAffinity(moved).status).toBe('FAIL')
  })
  it('a pinned flow: its packets on its queue and its interrupts on its vCPU', () => {
    const flow = (cpu: number, tx: number[], perCpu: number[]): PinnedFlow => ({
      cpu,
      queue: cpu,
      txPackets: tx,
      interrupts: [
        {irq: '25', name: 'virtio1-input.0', direction: 'rx', perCpu, total: perCpu[0] + perCpu[1]},
      ],
      transactionsPerSecond: 100,
    })
    expect(
      judgeFlows([flow(0, [2339, 3], [4673, 4]), flow(1, [7, 6564], [12, 13125])]).map((c) => c.status),
    ).toEqual(['PASS', 'PASS'])
    const crossed = judgeFlows([flow(0, [6, 1493], [13, 2983])])
    expect(crossed.map((c) => c.status)).toEqual(['FAIL', 'FAIL'])
    expect(crossed[0].evidence).toBe('vCPU 0: tx packets tx-0 +6 tx-1 +1493 (0% on tx-0)')
    expect(judgeFlows([flow(0, [0, 0], [0, 0])]).map((c) => c.status)).toEqual(['FAIL', 'FAIL'])
  })
})

describe('mq_off judge', () => {
  const f = (ch: [number, number], sysfs: number, tap: [number, number]) =>
    ({
      channels: {combined: ch[0], maxCombined: ch[1]},
      snapshot: {queueCounts: {rx: sysfs, tx: sysfs}},
      tap: {numqueues: tap[0], numdisabled: tap[1], multiQueue: true},
    }) as GuestFacts
  it('one pair whatever queues says; mq=on FAILs each', () => {
    expect(judgeMqOff(f([1, 1], 1, [1, 3]), 4, 1).map((c) => c.status)).toEqual([
      'PASS',
      'PASS',
      'PASS',
      'PASS',
    ])
    expect(judgeMqOff(f([2, 4], 2, [2, 2]), 4, 0).map((c) => c.status)).toEqual([
      'FAIL',
      'FAIL',
      'FAIL',
      'FAIL',
    ])
  })
})

describe('negative_qemu judge', () => {
  it('wants an MqbError of one line naming qemu, with exit 8', () => {
    const ok = new MqbError('qemu refused queues=0: Invalid parameter queues', ExitCode.unsupported)
    expect(judgeBootRefusal('q', 't', {error: ok})).toMatchObject({
      status: 'PASS',
      evidence: `exit 8, one line: ${ok.message}`,
    })
    expect(judgeBootRefusal('q', 't', {error: new MqbError('qemu said no\n--- console ---', 8)}).status).toBe(
      'FAIL',
    )
    expect(judgeBootRefusal('q', 't', {error: new MqbError('qemu exited', ExitCode.failure)})).toMatchObject({
      status: 'FAIL',
      evidence: 'exit 1 (want 8), one line: qemu exited',
    })
    expect(judgeBootRefusal('q', 't', {error: new TypeError('x is undefined')}).evidence).toMatch(
      /^not one of mqbench's errors: TypeError/,
    )
    expect(judgeBootRefusal('q', 't', {booted: true}).status).toBe('FAIL')
  })
})
