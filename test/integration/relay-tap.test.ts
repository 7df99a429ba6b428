// The tap relay carries TCP between two namespaces on 1 and 2 queues, its per-queue counters
// add up to what the taps themselves counted, and the queue count reads back after a change.
import {spawn} from 'node:child_process'
import {afterEach, expect, it} from 'vitest'
import {ifctl, relay} from '../../src/native.js'
import {createNetns} from '../../src/host/netns.js'
import {createTapTestbed} from '../../src/testbed/tap.js'
import type {Testbed} from '../../src/testbed/types.js'
import {run} from '../../src/util/exec.js'
import {cleanup, leftovers, uniqueTag} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

function linkCounters(
  dev: string,
  netns: string,
): {txPackets: number; txBytes: number; rxPackets: number; rxBytes: number} {
  const [l] = JSON.parse(run('ip', ['-n', netns, '-s', '-j', 'link', 'show', 'dev', dev]).stdout)
  return {
    txPackets: l.stats64.tx.packets,
    txBytes: l.stats64.tx.bytes,
    rxPackets: l.stats64.rx.packets,
    rxBytes: l.stats64.rx.bytes,
  }
}

/** `streams` parallel TCP connections for `seconds` from A to B through the testbed (iperf3). */
async function tcpThrough(
  tb: Testbed,
  streams: number,
  seconds: number,
): Promise<{bitsPerSecond: number; retransmits: number}> {
  const server = spawn('ip', ['netns', 'exec', tb.nsB, 'iperf3', '-s', '-1', '-B', tb.ipB], {stdio: 'ignore'})
  try {
    for (let i = 0; i < 50; i++) {
      if (run('ip', ['netns', 'exec', tb.nsB, 'ss', '-ltnH', `sport = :5201`]).stdout.trim()) break
      await new Promise((r) => setTimeout(r, 50))
    }
    const c = run(
      'ip',
      ['netns', 'exec', tb.nsA, 'iperf3', '-c', tb.ipB, '-t', String(seconds), '-P', String(streams), '-J'],
      {timeoutMs: (seconds + 10) * 1000},
    )
    expect(c.status, c.stderr || c.stdout.slice(0, 300)).toBe(0)
    const end = JSON.parse(c.stdout).end
    return {bitsPerSecond: end.sum_received.bits_per_second, retransmits: end.sum_sent.retransmits ?? 0}
  } finally {
    server.kill()
  }
}

describeNet('tap relay', () => {
  let tb: Testbed | undefined
  let tag = ''
  afterEach(async () => {
    await tb?.close()
    tb = undefined
    cleanup.runAll()
    expect(leftovers(tag)).toEqual([])
  })

  it('relays TCP on 2 then 1 queues with counters that match the taps', async () => {
    tag = `r${uniqueTag().slice(0, 4)}`
    tb = createTapTestbed({kind: 'tap', name: tag}, {maxQueues: 2, cleanup})
    expect(tb.queueCount()).toBe(2)

    const two = await tb.setQueueCount(2)
    expect(two.channels.combined).toBe(2)
    expect(two.sysfsQueues).toEqual({rx: 2, tx: 2})
    const beforeA = linkCounters(tb.devA, tb.nsA)
    const beforeB = linkCounters(tb.devB, tb.nsB)
    // 8 fresh connections: the chance that tun's hash puts all of them on one queue is 1/128.
    const r2 = await tcpThrough(tb, 8, 1)
    expect(r2.bitsPerSecond).toBeGreaterThan(0)
    // The connections' last segments (FIN, ACK) can still cross after the load ends: read the
    // relay's and the taps' counters until two reads agree, so both sides count the same frames.
    let q2 = await tb.relayQueueTraffic!()
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50))
      const again = await tb.relayQueueTraffic!()
      if (JSON.stringify(again) === JSON.stringify(q2)) break
      q2 = again
    }
    expect(q2.map((q) => q.queue)).toEqual([0, 1])
    for (const q of q2) {
      expect(q.txPackets, `queue ${q.queue} carried A->B`).toBeGreaterThan(0)
      expect(q.rxPackets, `queue ${q.queue} carried B->A`).toBeGreaterThan(0)
    }
    const afterA = linkCounters(tb.devA, tb.nsA)
    const afterB = linkCounters(tb.devB, tb.nsB)
    const sum = (k: 'txPackets' | 'txBytes' | 'rxPackets' | 'rxBytes' | 'drops') =>
      q2.reduce((s, q) => s + q[k], 0)
    expect(sum('drops')).toBe(0)
    // What tap A handed to the relay is what tap B received from it, frame for frame.
    expect(sum('txPackets')).toBe(afterA.txPackets - beforeA.txPackets)
    expect(sum('txPackets')).toBe(afterB.rxPackets - beforeB.rxPackets)
    expect(sum('txBytes')).toBe(afterB.rxBytes - beforeB.rxBytes)
    expect(sum('rxPackets')).toBe(afterB.txPackets - beforeB.txPackets)
    expect(sum('rxBytes')).toBe(afterA.rxBytes - beforeA.rxBytes)

    const one = await tb.setQueueCount(1)
    expect(one.channels.combined).toBe(1)
    expect(one.sysfsQueues).toEqual({rx: 1, tx: 1})
    await tcpThrough(tb, 4, 1)
    const q1 = await tb.relayQueueTraffic!()
    expect(q1.map((q) => q.queue)).toEqual([0])
    expect(q1[0].txPackets).toBeGreaterThan(0)
    await tb.checkHealthy()
  })

  it('reports a worker failure: a queue fd closed behind the relay stops it with the reason', async () => {
    tag = `r${uniqueTag().slice(0, 4)}`
    const ns = `mqb-${tag}-a`
    const undoNs = createNetns(ns, cleanup)
    const a = ifctl.tapOpen({name: `mqb-${tag}-x`, queues: 2, vnetHdr: true, offloads: true, netns: ns})
    const b = ifctl.tapOpen({name: `mqb-${tag}-y`, queues: 2, vnetHdr: true, offloads: true, netns: ns})
    const h = relay.start({fdsA: a.fds, fdsB: b.fds, vnetHdrLen: a.vnetHdrLen})
    try {
      expect(relay.status(h)).toMatchObject({running: true, failed: false})
      // A detached queue only goes quiet (tun keeps the fd bound); a closed one is an error.
      ifctl.closeFd(b.fds[1])
      let s = relay.status(h)
      for (let i = 0; i < 40 && !s.failed; i++) {
        await new Promise((r) => setTimeout(r, 50))
        s = relay.status(h)
      }
      expect(s.failed).toBe(true)
      expect(s.running).toBe(false)
      // poll() reports POLLNVAL, or read() EBADF when the close lands between the two: either way the
      // reason names the queue.
      expect(s.error).toMatch(/^relay queue 1\b/)
    } finally {
      relay.stop(h)
      for (const fd of [...a.fds, b.fds[0]]) ifctl.closeFd(fd)
      undoNs()
    }
  })

  it('refuses a queue count above the maximum and a name in use', async () => {
    tag = `r${uniqueTag().slice(0, 4)}`
    tb = createTapTestbed({kind: 'tap', name: tag}, {maxQueues: 2, cleanup})
    await expect(tb.setQueueCount(3)).rejects.toThrow(/outside 1\.\.2/)
    expect(() => createTapTestbed({kind: 'tap', name: tag}, {maxQueues: 2, cleanup})).toThrow(
      /exists already/,
    )
    // the failed second testbed must not have removed the first one's namespaces
    expect(leftovers(tag).sort()).toEqual([`mqb-${tag}-a`, `mqb-${tag}-b`])
  })
})
