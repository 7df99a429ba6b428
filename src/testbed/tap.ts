// The tap testbed: two namespaces, each with a multiqueue tap opened with IFF_VNET_HDR and
// offloads, joined by the native relay (one worker per queue pair), i.e. two virtio-net guests
// on one userspace backend. The live queue count changes with TUNSETQUEUE, as qemu does on a
// guest's `ethtool -L`.
import {ExitCode, MqbError, fromNative} from '../errors.js'
import {cpuQueueMap, type AttributionContext} from '../sessions/attribution.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import {ifctl, type TapHandle} from '../native.js'
import type {QueueTraffic} from '../results/schema.js'
import {addressAndUp, endpointAddresses, endpointNames, quietNamespace, readBackQueues} from './common.js'
import {createNetns} from '../host/netns.js'
import {TapRelay} from './relay.js'
import type {QueueReadback, Testbed, TestbedOptions, TestbedSpec} from './types.js'

function openTap(
  name: string,
  netns: string,
  queues: number,
  undos: Array<() => void>,
  cleanup: CleanupRegistry,
): TapHandle {
  try {
    const tap = ifctl.tapOpen({name, queues, vnetHdr: true, offloads: true, netns})
    // Not persistent: closing the last queue fd removes the tap, also after a crash.
    undos.push(cleanup.add(`tap ${name} in ${netns}`, () => tap.fds.forEach((fd) => ifctl.closeFd(fd))))
    return tap
  } catch (err) {
    throw fromNative(err, {capability: 'CAP_NET_ADMIN', dev: name})
  }
}

/**
 * The relay's worker for queue pair K runs on relayCpus[K mod n] and writes into the taps there,
 * so the receiving socket's SO_INCOMING_CPU is that CPU: a CPU that serves one queue names it. An
 * unpinned relay's workers move, and nothing names a queue.
 */
export function relayAttribution(relayCpus: number[], queues: number): AttributionContext {
  if (relayCpus.length === 0)
    return {
      method: 'none',
      reason: 'the relay workers are not pinned (give --relay-cpus): no CPU names a queue',
    }
  return {
    method: 'relay-cpu',
    cpuQueue: cpuQueueMap(Array.from({length: queues}, (_, q) => [relayCpus[q % relayCpus.length]])),
  }
}

export function createTapTestbed(spec: TestbedSpec, opts: TestbedOptions): Testbed {
  const {nsA, nsB, devA, devB} = endpointNames(spec.name)
  const {ipA, ipB, prefix} = endpointAddresses(spec.name)
  const max = opts.maxQueues
  const undos: Array<() => void> = []
  let relay: TapRelay | undefined
  try {
    undos.push(createNetns(nsA, opts.cleanup), createNetns(nsB, opts.cleanup))
    quietNamespace(nsA)
    quietNamespace(nsB)
    const tapA = openTap(devA, nsA, max, undos, opts.cleanup)
    const tapB = openTap(devB, nsB, max, undos, opts.cleanup)
    addressAndUp(devA, nsA, `${ipA}/${prefix}`)
    addressAndUp(devB, nsB, `${ipB}/${prefix}`)
    relay = new TapRelay(spec.name, tapA.vnetHdrLen, opts.cleanup, opts.relayCpus)
    const r = relay
    undos.push(() => r.stop())
    const attached = Array.from({length: max}, () => true)
    let count = max
    r.start(tapA.fds, tapB.fds)

    const setAttached = (q: number, on: boolean) => {
      if (attached[q] === on) return
      try {
        ifctl.tapSetQueueAttached(tapA.fds[q], on)
        ifctl.tapSetQueueAttached(tapB.fds[q], on)
      } catch (err) {
        throw fromNative(err, {dev: devA})
      }
      attached[q] = on
    }

    const testbed: Testbed = {
      kind: 'tap',
      name: spec.name,
      nsA,
      nsB,
      devA,
      devB,
      ipA,
      ipB,
      maxQueues: max,
      async setQueueCount(n: number): Promise<QueueReadback> {
        if (!Number.isInteger(n) || n < 1 || n > max)
          throw new MqbError(
            `queue count ${n} is outside 1..${max}, the queues this tap testbed was created with`,
            ExitCode.unsupported,
          )
        r.check()
        // One worker per attached queue: a detached queue's fd merely goes quiet (tun keeps it
        // bound), so the relay is restarted over exactly the attached ones.
        r.stop()
        // Detaching from the top keeps the numbering: detaching queue 0 would renumber the rest.
        for (let q = max - 1; q >= n; q--) setAttached(q, false)
        for (let q = 0; q < n; q++) setAttached(q, true)
        r.start(tapA.fds.slice(0, n), tapB.fds.slice(0, n))
        count = n
        const readA = readBackQueues(devA, nsA, n, (ch) => ch.combined)
        readBackQueues(devB, nsB, n, (ch) => ch.combined)
        return readA
      },
      queueCount: () => count,
      queueAttribution: () => relayAttribution(opts.relayCpus ?? [], count),
      relayQueueTraffic: async (): Promise<QueueTraffic[]> => r.queueTraffic(),
      checkHealthy: async () => r.check(),
      async close() {
        for (const u of undos.splice(0).reverse()) u()
      },
    }
    return testbed
  } catch (err) {
    for (const u of undos.reverse()) u()
    throw err
  }
}
