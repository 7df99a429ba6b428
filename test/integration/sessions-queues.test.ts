// Sessions that know their queue (issue 30) on a 2-queue veth testbed: the client's threads pinned
// to CPUs 0 and 1 and XPS mapping each CPU to one tx queue, so every session's queue is known by
// construction; the receiver's per-queue counters confirm it. An unbalanced XPS map makes the
// per-queue finding name the crowded queue, and TCP_INFO's retransmissions equal the kernel's
// counter under loss injected with nftables on the data ports only.
import {afterAll, beforeAll, expect, it} from 'vitest'
import {observeIO} from '../../src/observe/io.js'
import {queueFinding} from '../../src/results/queues.js'
import type {RrResult} from '../../src/results/schema.js'
import {runRr, startServer, type ServerHandle} from '../../src/sessions/index.js'
import {createTestbed} from '../../src/testbed/index.js'
import {ownerSelf} from '../../src/testbed/registry.js'
import type {Testbed} from '../../src/testbed/types.js'
import {runInNetns} from '../../src/util/exec.js'
import {cleanup, leftovers, uniqueTag} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

/** Packets each rx queue of the server's veth took (its per-queue NAPI counters). */
function rxPerQueue(tb: Testbed): number[] {
  const stats = runInNetns(tb.nsB, 'ethtool', ['-S', tb.devB])
  return [...stats.matchAll(/rx_queue_(\d+)_xdp_packets: (\d+)/g)].map((m) => Number(m[2]))
}

/** The namespace's TCP RetransSegs (/proc/net/snmp is per network namespace). */
function retransSegs(netns: string): number {
  const lines = runInNetns(netns, 'cat', ['/proc/net/snmp'])
    .split('\n')
    .filter((l) => l.startsWith('Tcp:'))
  const [names, values] = lines.map((l) => l.split(/\s+/))
  return Number(values[names.indexOf('RetransSegs')])
}

describeNet('sessions: queue attribution on a 2-queue veth', () => {
  let tb: Testbed
  let server: ServerHandle
  let tag = ''
  const token = 'queues-token'

  beforeAll(async () => {
    tag = `q${uniqueTag().slice(0, 4)}`
    tb = await createTestbed({kind: 'veth', name: tag}, {maxQueues: 2, cleanup, owner: ownerSelf('test')})
    await tb.setQueueCount(2) // XPS: tx-0 <- CPU 0, tx-1 <- CPU 1 on both ends
    server = await startServer({netns: tb.nsB, bind: tb.ipB, port: 0, token})
  })
  afterAll(async () => {
    await server?.close()
    await tb?.close()
    cleanup.runAll()
    expect(leftovers(tag)).toEqual([])
  })

  const run = (durationMs: number, hooks: Parameters<typeof runRr>[1] = {}): Promise<RrResult> =>
    runRr(
      {
        server: tb.ipB,
        port: server.port,
        netns: tb.nsA,
        token,
        type: 'tcp_rr',
        sessions: 4,
        threads: 2,
        cpus: [0, 1],
        requestSize: 64,
        responseSize: 64,
        durationMs,
        intervalMs: 250,
        attribution: tb.queueAttribution!(),
        queueCount: 2,
      },
      hooks,
    )

  it('records for every session the queue its pinned sender maps to, as the per-queue counters confirm', async () => {
    const before = rxPerQueue(tb)
    const r = await run(1000)
    const after = rxPerQueue(tb)
    for (const s of r.sessions) {
      // session s runs on thread s mod 2, pinned to CPU s mod 2, which XPS sends on tx-(s mod 2)
      expect(s.queue).toMatchObject({method: 'veth-xps', queue: s.id % 2, moved: false, txCpus: [s.id % 2]})
      expect(s.queue.samples).toBeGreaterThanOrEqual(3)
      expect(s.tcpInfo!.samples).toBeGreaterThanOrEqual(3)
      expect(s.tcpInfo!.rttMeanUs).toBeGreaterThan(0)
    }
    expect(r.queues!.map((q) => q.sessions)).toEqual([
      [0, 2],
      [1, 3],
    ])
    expect(r.queues!.map((q) => q.latency.count)).toEqual(r.queues!.map((q) => q.transactions))
    // every request of a queue's sessions crossed that queue: its counter holds the window's
    // transactions and those of the ramp and the stop (2% more here), not the other queue's
    r.queues!.forEach((q, i) => {
      expect(after[i] - before[i]).toBeGreaterThanOrEqual(q.transactions)
      expect(after[i] - before[i]).toBeLessThan(1.1 * q.transactions + 500)
    })
    // with GRO on, veth's receive path is per-queue NAPI: one id per queue on the client's side
    const napi = r.sessions.map((s) => s.queue.napiId)
    expect(napi[0]).toBeGreaterThan(0)
    expect([napi[0] === napi[2], napi[1] === napi[3], napi[0] !== napi[1]]).toEqual([true, true, true])
    expect(queueFinding(r.queues!)).toBeUndefined()
  })

  it('names the queue an unbalanced XPS map crowds every session onto', async () => {
    const io = observeIO({netns: tb.nsA})
    io.writeDeviceFile(tb.devA, 'queues/tx-0/xps_cpus', '3')
    io.writeDeviceFile(tb.devA, 'queues/tx-1/xps_cpus', '0')
    try {
      const before = rxPerQueue(tb)
      const r = await run(800)
      const after = rxPerQueue(tb)
      expect(r.sessions.map((s) => s.queue.queue)).toEqual([0, 0, 0, 0])
      expect(r.queues![1].sessions).toEqual([])
      expect(queueFinding(r.queues!)).toMatchObject({queue: 0, kind: 'crowded'})
      // the counters agree: queue 1 carried (next to) nothing of the client's traffic
      expect(after[1] - before[1]).toBeLessThan(0.02 * (after[0] - before[0]))
    } finally {
      await tb.setQueueCount(2) // back to one queue per CPU
    }
  })

  it("TCP_INFO's retransmissions equal the kernel's counter under loss on the data ports only", async () => {
    const table = `mqb${tag}`
    // requests with payload only (not SYN, hello or FIN: the run's end does not wait for those)
    const rules = `add table inet ${table} ; add chain inet ${table} in { type filter hook input priority 0 ; } ; add rule inet ${table} in ip daddr ${tb.ipB} tcp dport != ${server.port} ip length > 100 numgen random mod 100 < 5 drop`
    const before = retransSegs(tb.nsA)
    let phase = 0
    const r = await run(2000, {
      // loss from 0.5 s to 1.25 s of the window, so every retransmission is over before the last sample
      onInterval: () => {
        phase++
        if (phase === 2) runInNetns(tb.nsB, 'nft', [rules])
        if (phase === 5) runInNetns(tb.nsB, 'nft', ['delete', 'table', 'inet', table])
      },
    })
    const kernel = retransSegs(tb.nsA) - before
    const sampled = r.sessions.reduce((a, s) => a + s.tcpInfo!.totalRetrans, 0)
    expect(kernel).toBeGreaterThan(0)
    expect(sampled).toBe(kernel)
    expect(r.queues!.reduce((a, q) => a + (q.totalRetrans ?? 0), 0)).toBe(sampled)
  })
})
