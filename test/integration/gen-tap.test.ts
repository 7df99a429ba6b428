// mqbench gen into a 2-queue tap that it creates inside a throwaway namespace: writing to queue
// fd i injects frames as if the tap's wire delivered them on queue i. An AF_PACKET receiver on
// the tap counts them per receive queue (tun records the fd's queue on each frame), and the
// tap's own rx counters agree. Closing the fds removes the tap.
import {afterEach, beforeEach, expect, it} from 'vitest'
import {runGen} from '../../src/gen/run.js'
import {ifctl} from '../../src/native.js'
import {createNetns, linkExists} from '../../src/host/netns.js'
import {runOk} from '../../src/util/exec.js'
import {describeNet} from '../helpers/privileges.js'
import {cleanup, leftovers, uniqueTag} from '../helpers/netpair.js'

const OTHER_TRAFFIC = 5

describeNet('gen into a 2-queue tap', () => {
  let tag: string
  let ns: string
  let tap: string
  let undo: () => void
  beforeEach(() => {
    tag = uniqueTag()
    ns = `mqb-t${tag}-a`
    tap = `mqb${tag}t`
    undo = createNetns(ns, cleanup)
    runOk('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1'])
  })
  afterEach(() => {
    undo()
    expect(leftovers(tag)).toEqual([])
  })

  it("writes on both queue fds for 2 s; the receiver and the tap's counters see every frame on its queue", async () => {
    const ratePps = 20_000
    const r = await runGen({
      backend: 'tap',
      dev: tap,
      netns: ns,
      queues: 2,
      frameSize: 128,
      flowsPerQueue: 8,
      ratePps,
      durationMs: 2000,
      rx: {dev: tap, netns: ns},
    })
    expect(r.backend).toBe('tap')
    for (const q of r.queues) {
      expect(q.packets).toBeLessThanOrEqual(ratePps + 1)
      expect(q.packets).toBeGreaterThan(ratePps * 0.5)
    }
    expect(r.rx!.packets).toBeGreaterThanOrEqual(r.packets * 0.99)
    expect(r.rx!.duplicates).toBe(0)
    expect(r.placement).toMatchObject({expectedTxQueue: [0, 1], verified: true})
    const rxPackets = r.kernel!.tx.statistics.rx_packets
    expect(rxPackets - r.packets).toBeGreaterThanOrEqual(0)
    expect(rxPackets - r.packets).toBeLessThanOrEqual(OTHER_TRAFFIC)
    // the tap mqbench created went away with its fds
    expect(linkExists(tap, ns)).toBe(false)
  })

  it('uses queue fds the caller opened, and leaves the tap to the caller', async () => {
    const h = ifctl.tapOpen({name: tap, queues: 2, netns: ns})
    try {
      runOk('ip', ['-n', ns, 'link', 'set', tap, 'up'])
      const r = await runGen({
        backend: 'tap',
        dev: tap,
        netns: ns,
        tapFds: h.fds,
        queues: 2,
        frameSize: 60,
        flowsPerQueue: 1,
        count: 400,
        durationMs: 3000,
        rx: {dev: tap, netns: ns},
      })
      expect(r.queues.map((q) => q.packets)).toEqual([200, 200])
      expect(r.rx!.packets).toBe(400)
      expect(r.placement!.matrix).toEqual([
        [200, 0],
        [0, 200],
      ])
      expect(linkExists(tap, ns)).toBe(true)
    } finally {
      h.fds.forEach((fd) => ifctl.closeFd(fd))
    }
  })

  it('counts what the kernel sends out of the tap by reading its queue fds; tun, not the CPU, picks the queue', async () => {
    const h = ifctl.tapOpen({name: tap, queues: 2, netns: ns})
    try {
      runOk('ip', ['-n', ns, 'link', 'set', tap, 'up'])
      // AF_PACKET on the tap transmits through tun_net_xmit to the fd tun's flow hash picks.
      const r = await runGen({
        backend: 'packet',
        dev: tap,
        netns: ns,
        queues: 2,
        frameSize: 60,
        flowsPerQueue: 8,
        count: 2000,
        durationMs: 3000,
        rx: {dev: tap, netns: ns, tapFds: h.fds},
      })
      expect(r.packets).toBe(2000)
      expect(r.rx!.packets).toBe(2000)
      expect(r.rx!.lost).toBe(0)
      expect(r.placement!.expectedTxQueue).toEqual([-1, -1])
      expect(r.placement!.verified).toBeUndefined()
      // 16 flows hashed over 2 queues: both fds get frames, and each flow stays on one fd, so
      // every fd's total is a multiple of a flow's 125 frames
      const perFd = r.placement!.matrix!.map((row) => row.reduce((a, b) => a + b, 0))
      expect(perFd.every((n) => n > 0 && n % 125 === 0)).toBe(true)
      expect(r.kernel!.tx.statistics.tx_packets - 2000).toBeLessThanOrEqual(OTHER_TRAFFIC)
    } finally {
      h.fds.forEach((fd) => ifctl.closeFd(fd))
    }
  })
})
