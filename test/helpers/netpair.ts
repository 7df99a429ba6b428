// A throwaway pair of network namespaces joined by a multiqueue veth, for integration tests.
// Names are unique per call so tests never see each other's objects; `close()` removes all of
// it, and the test checks that nothing with its prefix is left.
import {randomBytes} from 'node:crypto'
import {CleanupRegistry} from '../../src/host/cleanup.js'
import {createNetns, createVethPair, linkInfo, listNetns} from '../../src/host/netns.js'
import {run, runOk} from '../../src/util/exec.js'

/** The tests' own undo registry: what a test creates is registered here; afterAll hooks run it. */
export const cleanup = new CleanupRegistry()

export interface NetPair {
  tag: string
  nsA: string
  nsB: string
  devA: string
  devB: string
  ipA: string
  ipB: string
  macA: string
  macB: string
  queues: number
  close(): void
}

export function uniqueTag(): string {
  return randomBytes(3).toString('hex')
}

/** 198.18.x.1 and 198.18.x.2 (RFC 2544 benchmarking range), x picked per pair. */
export function createNetPair(queues = 2, opts: {mtu?: number} = {}): NetPair {
  const tag = uniqueTag()
  const nsA = `mqb-t${tag}-a`
  const nsB = `mqb-t${tag}-b`
  const devA = `mqb${tag}a`
  const devB = `mqb${tag}b`
  const octet = parseInt(tag.slice(0, 2), 16)
  const ipA = `198.18.${octet}.1`
  const ipB = `198.18.${octet}.2`
  const undos = [createNetns(nsA, cleanup), createNetns(nsB, cleanup)]
  undos.push(
    createVethPair(
      {name: devA, netns: nsA, address: `${ipA}/30`},
      {name: devB, netns: nsB, address: `${ipB}/30`},
      queues,
      {...opts, cleanup},
    ),
  )
  const macA = linkInfo(devA, nsA).mac
  const macB = linkInfo(devB, nsB).mac
  return {
    tag,
    nsA,
    nsB,
    devA,
    devB,
    ipA,
    ipB,
    macA,
    macB,
    queues,
    close() {
      for (const u of undos.reverse()) u()
    },
  }
}

/** Every mqb- object whose name contains `tag` that still exists (namespaces and links). */
export function leftovers(tag: string): string[] {
  const links = run('ip', ['-o', 'link', 'show'])
    .stdout.split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
  return [...listNetns(), ...links].filter((n) => n.includes(tag))
}

/**
 * Readies a pair for frame counting per queue: IPv6 off (no neighbour discovery frames), and the
 * veth spreading receive work over its queues, which it does only with NAPI at the receiver: GRO
 * on there and TSO off at the sender (docs/gen.md).
 */
export function quietPerQueuePair(pair: NetPair): void {
  for (const [ns, dev] of [
    [pair.nsA, pair.devA],
    [pair.nsB, pair.devB],
  ])
    runOk('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`])
  runOk('ip', ['netns', 'exec', pair.nsA, 'ethtool', '-K', pair.devA, 'tso', 'off'])
  runOk('ip', ['netns', 'exec', pair.nsB, 'ethtool', '-K', pair.devB, 'gro', 'on'])
}
