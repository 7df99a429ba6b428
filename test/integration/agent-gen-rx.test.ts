// The guest agent's generator and receiver ops on a 2-queue veth: one agent in each namespace
// (as one would run in a guest), gen_start with the host's native gen options on one side,
// rx_start on the other; every frame sent is counted, on the receive queue of its sender.
import {afterAll, beforeAll, expect, it} from 'vitest'
import {StdioAgent} from '../helpers/agent.js'
import {createNetPair, leftovers, quietPerQueuePair, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const mac = (s: string) => s.split(':').map((x) => parseInt(x, 16))
const ip4 = (s: string) => s.split('.').map(Number)

describeNet('agent: gen and rx on a 2-queue veth', () => {
  let p: NetPair
  let sender: StdioAgent
  let receiver: StdioAgent

  beforeAll(() => {
    p = createNetPair(2)
    quietPerQueuePair(p)
    sender = new StdioAgent(['ip', 'netns', 'exec', p.nsA])
    receiver = new StdioAgent(['ip', 'netns', 'exec', p.nsB])
  })

  afterAll(async () => {
    expect(await sender?.close()).toBe(0)
    expect(await receiver?.close()).toBe(0)
    p?.close()
    expect(leftovers(p.tag)).toEqual([])
  })

  const plan = (over: Record<string, unknown> = {}) => ({
    dev: p.devA,
    ipv6: false,
    srcMac: mac(p.macA),
    dstMac: mac(p.macB),
    srcIp: ip4(p.ipA),
    dstIp: ip4(p.ipB),
    dstPort: 9,
    frameSize: 60,
    flowsPerQueue: 3,
    burst: 32,
    durationMs: 5000,
    queues: [
      {cpu: 0, count: 501, srcPort: 9},
      {cpu: 1, count: 500, srcPort: 9},
    ],
    ...over,
  })

  it('sends a counted run per queue; the receiver counts every frame on its sender queue', async () => {
    expect(await receiver.call('rx_start', {dev: p.devB, sockets: 2, queues: 2, flowsPerQueue: 3})).toEqual({
      threads: 2,
    })
    expect(await sender.call('gen_start', plan())).toEqual({queues: 2})
    const sent = await sender.call('gen_stop', {wait: true})
    const queues = sent.queues as Array<{packets: number; bytes: number; cpu: number}>
    expect(queues.map((q) => q.packets)).toEqual([501, 500])
    expect(queues.map((q) => q.bytes)).toEqual([501 * 60, 500 * 60])
    expect(sent.failed).toBe(false)
    let rx: Record<string, unknown> = {}
    for (let i = 0; i < 50; i++) {
      rx = await receiver.call('rx_stats')
      const threads = rx.threads as Array<{queues: Array<{packets: number}>}>
      if (threads.flatMap((t) => t.queues).reduce((a, q) => a + q.packets, 0) >= 1001) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const final = await receiver.call('rx_stop')
    const threads = final.threads as Array<{
      queues: Array<{packets: number; lost: number; duplicates: number}>
    }>
    const all = threads.flatMap((t) => t.queues)
    expect(all.reduce((a, q) => a + q.packets, 0)).toBe(1001)
    expect(all.every((q) => q.lost === 0 && q.duplicates === 0)).toBe(true)
    // placement: receive socket j (PACKET_FANOUT_QM) saw exactly sender queue j's frames
    expect(threads[0].queues[0].packets).toBe(501)
    expect(threads[1].queues[1].packets).toBe(500)
  })

  it('stops a generator early and reports what it sent', async () => {
    await sender.call('gen_start', plan({queues: [{cpu: 0, ratePps: 2000}], durationMs: 60_000}))
    await new Promise((r) => setTimeout(r, 300))
    const live = await sender.call('gen_stats')
    expect((live.queues as Array<{packets: number}>)[0].packets).toBeGreaterThan(0)
    const t0 = Date.now()
    const done = await sender.call('gen_stop')
    expect(Date.now() - t0).toBeLessThan(2000)
    expect((done.queues as Array<{endNs: number}>)[0].endNs).toBeGreaterThan(0)
  })

  it('refuses destinations outside mqbench ranges, a second generator and unknown devices', async () => {
    expect((await sender.request('gen_start', plan({dstIp: [8, 8, 8, 8]}))).error).toMatch(
      /198\.18\.0\.0\/15/,
    )
    expect((await sender.request('gen_start', plan({durationMs: 0}))).error).toMatch(
      /durationMs 0 is out of range/,
    )
    expect((await sender.request('gen_start', plan({srcMac: [1, 2]}))).error).toBe(
      'srcMac must be a list of 6 bytes',
    )
    await sender.call('gen_start', plan({durationMs: 200}))
    expect((await sender.request('gen_start', plan())).error).toMatch(/gen_stop it first/)
    await sender.call('gen_stop', {wait: true})
    expect((await sender.request('gen_stats')).error).toBe('no generator is running')
    const bad = await sender.call('gen_start', plan({dev: 'mqbnosuchdev', durationMs: 200}))
    expect(bad).toEqual({queues: 2})
    const failed = await sender.call('gen_stop', {wait: true})
    expect(failed.failed).toBe(true)
    expect(failed.error).toMatch(/mqbnosuchdev/)
    const rx = await receiver.request('rx_start', {dev: 'mqbnosuchdev'})
    expect(rx.ok).toBe(false)
    expect((await receiver.request('rx_stats')).error).toBe('no receiver is running')
  })
})
