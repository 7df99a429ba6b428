// mqbench gen over a 2-queue veth pair between two throwaway namespaces: both sender threads
// send, each on its own TX queue, the receiver at the peer counts what was sent, and the kernel's
// counters agree with mqbench's. Rates are kept low so that a busy 2-vCPU machine neither drops
// nor falls behind: the checks are about behaviour, not speed.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {runGen} from '../../src/gen/run.js'
import {commandExists, runOk} from '../../src/util/exec.js'
import {describeNet} from '../helpers/privileges.js'
import {createNetPair, leftovers, quietPerQueuePair, type NetPair} from '../helpers/netpair.js'

// Frames the kernel itself may send on a link during a run besides mqbench's (none expected
// with IPv6 off, but ARP is not under the test's control).
const OTHER_TRAFFIC = 5

describeNet('gen on a 2-queue veth pair', () => {
  let pair: NetPair
  beforeEach(() => {
    pair = createNetPair(2)
    quietPerQueuePair(pair)
  })
  afterEach(() => {
    pair.close()
    expect(leftovers(pair.tag)).toEqual([])
  })

  const base = () => ({
    backend: 'packet' as const,
    dev: pair.devA,
    netns: pair.nsA,
    queues: 2,
    frameSize: 60,
    flowsPerQueue: 4,
    dstMac: pair.macB,
    srcIp: pair.ipA,
    dstIp: pair.ipB,
    rx: {dev: pair.devB, netns: pair.nsB},
  })

  it('sends on both queues for 2 s; the receiver and the kernel count what was sent', async () => {
    const ratePps = 40_000
    const r = await runGen({...base(), ratePps, durationMs: 2000})
    expect(r.durationMs).toBeGreaterThan(1900)
    expect(r.durationMs).toBeLessThan(2500)
    for (const q of r.queues) {
      // the token bucket never runs ahead of its rate (frame k is due at k/rate) ...
      expect(q.packets).toBeLessThanOrEqual((ratePps / 2) * 2 + 1)
      // ... and on an idle-enough machine it keeps up; half is the floor for a busy one
      expect(q.packets).toBeGreaterThan((ratePps / 2) * 2 * 0.5)
      expect(q.bytes).toBe(q.packets * 60)
    }
    // Receiver: every frame, within 1% (a receive socket may overflow on a loaded machine).
    expect(r.rx!.packets).toBeGreaterThanOrEqual(r.packets * 0.99)
    expect(r.rx!.lost).toBeLessThanOrEqual(r.packets * 0.01)
    expect(r.rx!.duplicates).toBe(0)
    for (const q of r.rx!.queues) expect(q.packets).toBeGreaterThanOrEqual(r.queues[q.queue].packets * 0.99)
    // Kernel: the sender's tx_packets and the peer's rx_packets are mqbench's frames.
    const k = r.kernel!
    expect(k.tx.statistics.tx_packets - r.packets).toBeGreaterThanOrEqual(0)
    expect(k.tx.statistics.tx_packets - r.packets).toBeLessThanOrEqual(OTHER_TRAFFIC)
    expect(k.rx!.statistics.rx_packets - r.packets).toBeGreaterThanOrEqual(0)
    expect(k.rx!.statistics.rx_packets - r.packets).toBeLessThanOrEqual(OTHER_TRAFFIC)
    // Placement: thread i's frames arrived on receive queue i, seen two independent ways: the
    // receiver's PACKET_FANOUT_QM sockets and veth's own per-queue NAPI counters.
    expect(r.placement!.expectedTxQueue).toEqual([0, 1])
    expect(r.placement!.verified).toBe(true)
    for (const q of [0, 1]) {
      const kq = k.rx!.perQueue.find((p) => p.queue === q)!.counters.rx_xdp_packets
      expect(kq - r.queues[q].packets).toBeGreaterThanOrEqual(0)
      expect(kq - r.queues[q].packets).toBeLessThanOrEqual(OTHER_TRAFFIC)
    }
  })

  it('follows the CPUs: threads on CPUs 1,0 leave on queues 1,0, and the receiver shows it', async () => {
    const r = await runGen({...base(), cpus: [1, 0], ratePps: 10_000, durationMs: 1000})
    expect(r.queues.map((q) => q.cpu)).toEqual([1, 0])
    expect(r.placement!.expectedTxQueue).toEqual([1, 0])
    expect(r.placement!.matrix![0][0]).toBe(0)
    expect(r.placement!.matrix![1][1]).toBe(0)
    expect(r.placement!.verified).toBe(true)
  })

  it('stops at --count with exactly that many frames sent and received', async () => {
    const r = await runGen({...base(), count: 1001, durationMs: 5000, flowsPerQueue: 3})
    expect(r.queues.map((q) => q.packets)).toEqual([501, 500])
    expect(r.rx!.packets).toBe(1001)
    expect(r.rx!.lost).toBe(0)
    expect(r.rx!.reordered).toBe(0)
  })

  it('sends through a PACKET_TX_RING too, and counts only the frames that left the ring', async () => {
    const r = await runGen({...base(), txRing: true, count: 3001, durationMs: 5000})
    expect(r.packets).toBe(3001)
    expect(r.rx!.packets).toBe(3001)
    expect(r.kernel!.tx.statistics.tx_packets - r.packets).toBeLessThanOrEqual(OTHER_TRAFFIC)
    const fast = await runGen({...base(), txRing: true, durationMs: 1000})
    expect(fast.kernel!.tx.statistics.tx_packets - fast.packets).toBeGreaterThanOrEqual(0)
    expect(fast.kernel!.tx.statistics.tx_packets - fast.packets).toBeLessThanOrEqual(OTHER_TRAFFIC)
    expect(fast.placement!.verified).toBe(true)
  })

  it('stops every thread when aborted and returns what was sent', async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 500)
    const r = await runGen({...base(), ratePps: 20_000, durationMs: 20_000}, {signal: ac.signal})
    expect(r.interrupted).toBe(true)
    expect(r.durationMs).toBeLessThan(3000)
    for (const q of r.queues) expect(q.packets).toBeGreaterThan(0)
    expect(r.rx!.packets).toBe(r.packets)
  })

  it.skipIf(!commandExists('tshark'))(
    'writes the first frames of each queue to a pcap file that tshark reads (skipped without tshark)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mqb-gen-pcap-'))
      try {
        const pcap = join(dir, 'gen.pcap')
        const r = await runGen({...base(), count: 200, durationMs: 3000, pcap, pcapFramesPerQueue: 4})
        expect(r.packets).toBe(200)
        const out = runOk('tshark', [
          '-r',
          pcap,
          '-o',
          'udp.check_checksum:TRUE',
          '-T',
          'fields',
          '-e',
          'eth.dst',
          '-e',
          'udp.srcport',
          '-e',
          'udp.checksum.status',
          '-e',
          'frame.len',
        ])
        const rows = out
          .trim()
          .split('\n')
          .map((l) => l.split('\t'))
        expect(rows).toHaveLength(8)
        for (const [dst, , status, len] of rows) expect([dst, status, len]).toEqual([pair.macB, '1', '60'])
        // flows 0-3 of queue 0 send from ports 1024-1027, queue 1's from 1028-1031
        expect(new Set(rows.map((row) => Number(row[1])))).toEqual(
          new Set([1024, 1025, 1026, 1027, 1028, 1029, 1030, 1031]),
        )
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    },
  )

  it('refuses more queues than the device has, and a device that is down, with distinct exit codes', async () => {
    const err = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as MqbError,
      )
    const tooMany = await err(runGen({...base(), queues: 3, durationMs: 1000}))
    expect(tooMany).toBeInstanceOf(MqbError)
    expect(tooMany!.exitCode).toBe(ExitCode.unsupported)
    expect(tooMany!.message).toMatch(/above the 2 TX queues.*ethtool -L/)
    const unknown = await err(runGen({...base(), dev: 'mqbnosuch0', durationMs: 1000}))
    expect(unknown!.exitCode).toBe(ExitCode.noDevice)
    expect(unknown!.message).toContain(pair.devA) // lists the interfaces that exist
    runOk('ip', ['-n', pair.nsA, 'link', 'set', pair.devA, 'down'])
    const down = await err(runGen({...base(), durationMs: 1000}))
    expect(down!.exitCode).toBe(ExitCode.noDevice)
    expect(down!.message).toMatch(/is down/)
  })
})
