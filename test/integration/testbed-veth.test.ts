// The veth testbed: queue counts change with ETHTOOL_SCHANNELS and read back on both ends, and
// with GRO on / TSO off (set by the testbed) the receiver's per-queue counters show the spread.
import {spawn} from 'node:child_process'
import {afterEach, expect, it} from 'vitest'
import {createTestbed} from '../../src/testbed/index.js'
import {ownerSelf, readRecords} from '../../src/testbed/registry.js'
import type {Testbed} from '../../src/testbed/types.js'
import {run, runInNetns} from '../../src/util/exec.js'
import {cleanup, leftovers, uniqueTag} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

function rxPerQueue(tb: Testbed): number[] {
  const stats = runInNetns(tb.nsB, 'ethtool', ['-S', tb.devB])
  return [...stats.matchAll(/rx_queue_(\d+)_xdp_packets: (\d+)/g)].map((m) => Number(m[2]))
}

describeNet('veth testbed', () => {
  let tb: Testbed | undefined
  let tag = ''
  afterEach(async () => {
    await tb?.close()
    cleanup.runAll()
    expect(leftovers(tag)).toEqual([])
    expect(readRecords().map((r) => r.name)).not.toContain(tag)
  })

  it('changes and reads back queue counts and spreads TCP over the queues', async () => {
    tag = `v${uniqueTag().slice(0, 4)}`
    tb = await createTestbed({kind: 'veth', name: tag}, {maxQueues: 4, cleanup, owner: ownerSelf('test')})
    expect(readRecords().find((r) => r.name === tag)).toMatchObject({
      kind: 'veth',
      pid: process.pid,
      maxQueues: 4,
    })
    const features = runInNetns(tb.nsB, 'ethtool', ['-k', tb.devB])
    expect(features).toMatch(/generic-receive-offload: on/)
    expect(features).toMatch(/tcp-segmentation-offload: off/)
    for (const n of [1, 3, 2]) {
      const rb = await tb.setQueueCount(n)
      expect(rb.channels).toMatchObject({rx: n, tx: n, maxRx: 4, maxTx: 4})
      expect(rb.sysfsQueues).toEqual({rx: n, tx: n})
      expect(tb.queueCount()).toBe(n)
    }
    await expect(tb.setQueueCount(5)).rejects.toThrow(/outside 1\.\.4/)

    const before = rxPerQueue(tb)
    const server = spawn('ip', ['netns', 'exec', tb.nsB, 'iperf3', '-s', '-1', '-B', tb.ipB], {
      stdio: 'ignore',
    })
    try {
      for (
        let i = 0;
        i < 50 && !run('ip', ['netns', 'exec', tb.nsB, 'ss', '-ltnH', 'sport = :5201']).stdout.trim();
        i++
      )
        await new Promise((r) => setTimeout(r, 50))
      const c = run('ip', ['netns', 'exec', tb.nsA, 'iperf3', '-c', tb.ipB, '-t', '1', '-P', '16', '-J'], {
        timeoutMs: 15_000,
      })
      expect(c.status, c.stderr).toBe(0)
    } finally {
      server.kill()
    }
    const moved = rxPerQueue(tb).map((v, i) => v - before[i])
    expect(moved).toHaveLength(2)
    for (const [q, v] of moved.entries()) expect(v, `rx queue ${q} of ${tb.devB}`).toBeGreaterThan(0)
  })
})
