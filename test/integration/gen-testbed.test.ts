// `mqbench gen --testbed NAME` against held testbeds (the CLI, as a person runs it): the sender
// device, namespace, receiver and addresses come from the testbed. veth and tap: from A, counted
// at B. vm: into the guest, counted per guest RX queue by the agent's receiver, and from the
// guest's senders, counted per guest TX queue and at the host tap; each result valid under the
// results schema's GenResult.
import {existsSync, readFileSync} from 'node:fs'
import {Ajv} from 'ajv'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RESULTS_SCHEMA_PATH} from '../../src/results/load.js'
import type {GenResult} from '../../src/results/schema.js'
import {vmNames} from '../../src/testbed/vm.js'
import {mqbench, startMqbench} from '../helpers/mqbench-cli.js'
import {leftovers, uniqueTag} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const schema = JSON.parse(readFileSync(RESULTS_SCHEMA_PATH, 'utf8')) as {definitions: object}
const validGen = new Ajv({strict: false, discriminator: true}).compile({
  $ref: '#/definitions/GenResult',
  definitions: schema.definitions,
})

async function gen(args: string[]): Promise<GenResult> {
  const r = await mqbench(['gen', ...args, '--json'])
  expect(r.status, r.stderr).toBe(0)
  const result = JSON.parse(r.stdout) as GenResult
  expect(validGen(result), JSON.stringify(validGen.errors)).toBe(true)
  return result
}

async function hold(name: string, kind: string): Promise<void> {
  const up = await mqbench(['testbed', 'up', name, '--kind', kind, '--max-queues', '2', '--detach'])
  expect(up.status, up.stderr).toBe(0)
}

async function down(name: string): Promise<void> {
  await mqbench(['testbed', 'down', name])
  expect(leftovers(`mqb-${name}-`)).toEqual([])
  expect(existsSync(vmNames(name).dir)).toBe(false)
}

describeNet('gen --testbed on namespace testbeds', () => {
  for (const kind of ['veth', 'tap']) {
    it(`${kind}: sends from A on every live queue and counts everything at B`, async () => {
      const name = `${kind[0]}${uniqueTag().slice(0, 5)}`
      try {
        await hold(name, kind)
        const r = await gen([
          '--testbed',
          name,
          '--duration',
          '1s',
          '--rate',
          '20kpps',
          '--backend',
          'packet',
        ])
        expect(r.dev).toBe(`mqb-${name}-a`)
        expect(r.queues).toHaveLength(2)
        for (const q of r.queues) expect(q.packets, `queue ${q.queue}`).toBeGreaterThan(0)
        expect(r.rx!.dev).toBe(`mqb-${name}-b`)
        expect(r.rx!.packets).toBe(r.packets)
        expect(r.rx!.lost).toBe(0)
        // veth keeps the sender's queue; a tap hashes the flow (the driver picks: -1)
        if (kind === 'veth') expect(r.placement!.verified).toBe(true)
        else expect(r.placement!.expectedTxQueue).toEqual([-1, -1])
      } finally {
        await down(name)
      }
    }, 60_000)
  }

  it('refuses --testbed with --dev, neither of them, and a testbed nobody holds', async () => {
    const both = await mqbench(['gen', '--testbed', 'x', '--dev', 'lo'])
    expect(both.status).toBe(2)
    const neither = await mqbench(['gen', '--duration', '1s'])
    expect(neither.status).toBe(2)
    expect(neither.stderr).toMatch(
      /^mqbench: give the interface to send on \(--dev IF\) or a held --testbed NAME$/m,
    )
    const none = await mqbench(['gen', '--testbed', 'nosuch', '--duration', '1s'])
    expect(none.status).toBe(5)
    expect(none.stderr).toMatch(/no testbed nosuch is held/)
  })
})

describeNet('gen --testbed on a vm testbed (one held guest)', () => {
  const name = `g${uniqueTag().slice(0, 5)}`
  const fromGuest = () => ['--testbed', name, '--from', 'guest']

  beforeAll(() => hold(name, 'vm'), 120_000)
  afterAll(() => down(name), 60_000)

  it('into the guest: host senders on the tap, every guest RX queue counted by the agent, no loss', async () => {
    const r = await gen(['--testbed', name, '--duration', '2s', '--rate', '20kpps'])
    expect(r.dev).toBe(`mqb-${name}-t`)
    expect(r.queues).toHaveLength(2)
    expect(r.flowsPerQueue).toBe(16)
    expect(r.guest!.direction).toBe('to-guest')
    expect(r.guest!.queues.map((q) => q.queue)).toEqual([0, 1])
    for (const q of r.guest!.queues) {
      expect(q.received, `guest rx queue ${q.queue}`).toBeGreaterThan(0)
      // the driver counted at least what mqbench's receiver did on that queue
      expect(q.rxPackets).toBeGreaterThanOrEqual(q.received!)
      expect(q.pps).toBeGreaterThan(0)
    }
    expect(r.guest!.queues.reduce((a, q) => a + q.received!, 0)).toBe(r.rx!.packets)
    expect(r.rx!.packets + r.rx!.lost).toBe(r.packets)
    expect(r.rx!.duplicates).toBe(0)
  }, 60_000)

  it('from the guest: one pinned sender per guest queue, each on its own TX queue and tap queue', async () => {
    const r = await gen([...fromGuest(), '--duration', '2s', '--rate', '20kpps'])
    expect(r.guest!.direction).toBe('from-guest')
    expect(r.queues.map((q) => q.cpu)).toEqual([0, 1])
    for (const q of r.guest!.queues) {
      expect(q.txPackets, `guest tx queue ${q.queue}`).toBeGreaterThanOrEqual(r.queues[q.queue].packets)
      expect(q.pps).toBeGreaterThan(0)
    }
    expect(r.rx!.dev).toBe(`mqb-${name}-t`)
    expect(r.rx!.packets + r.rx!.lost).toBe(r.packets)
    expect(r.rx!.packets).toBeGreaterThan(0)
    // guest CPU i sends on TX queue i; qemu writes it into tap queue i
    expect(r.placement).toMatchObject({expectedTxQueue: [0, 1], verified: true})
  }, 60_000)

  it('stops the guest side on Ctrl-C, and takes over a receiver a killed run left in the guest', async () => {
    // Ctrl-C during a 20 s run from the guest: exit 130 with what was sent so far
    const int = startMqbench(['gen', ...fromGuest(), '--duration', '20s', '--rate', '5kpps', '--json'])
    await new Promise((r) => setTimeout(r, 3000))
    int.child.kill('SIGINT')
    const ri = await int.done
    expect(ri.status, ri.stderr).toBe(130)
    const partial = JSON.parse(ri.stdout) as GenResult
    expect(partial.interrupted).toBe(true)
    // the guest's senders stopped when asked, not at the end of their 20 s
    expect(partial.durationMs).toBeLessThan(15_000)
    expect(partial.packets).toBeGreaterThan(0)
    // SIGKILL during a run into the guest leaves the agent's receiver running
    const killed = startMqbench(['gen', '--testbed', name, '--duration', '20s', '--rate', '5kpps'])
    await new Promise((r) => setTimeout(r, 3000))
    killed.child.kill('SIGKILL')
    await killed.done
    const r = await gen(['--testbed', name, '--duration', '1s', '--rate', '5kpps'])
    for (const q of r.guest!.queues) expect(q.received, `guest rx queue ${q.queue}`).toBeGreaterThan(0)
    const back = await gen([...fromGuest(), '--duration', '1s', '--rate', '5kpps'])
    expect(back.rx!.packets).toBeGreaterThan(0)
  }, 90_000)

  it('names a bad option in one line', async () => {
    const r = await mqbench(['gen', ...fromGuest(), '--duration', '1s', '--frame-size', '9000'])
    expect(r.status).toBe(3)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  }, 30_000)
})

describe('gen --testbed help', () => {
  it('documents --testbed and --from', async () => {
    const r = await mqbench(['gen', '--help'])
    expect(r.stdout).toMatch(/--testbed=NAME/)
    expect(r.stdout).toMatch(/--from=<option>/)
  })
})
