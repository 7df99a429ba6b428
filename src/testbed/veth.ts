// The veth testbed: two namespaces joined by a veth pair created with the largest queue count;
// the live count changes with ETHTOOL_SCHANNELS (rx and tx on both ends), as `ethtool -L` does.
import {ExitCode, MqbError, fromNative} from '../errors.js'
import {ifctl} from '../native.js'
import {runInNetns} from '../util/exec.js'
import {endpointAddresses, endpointNames, quietNamespace, readBackQueues} from './common.js'
import {createNetns, createVethPair} from '../host/netns.js'
import {onlineCpus} from '../host/cpus.js'
import {observeIO} from '../observe/io.js'
import {formatCpuMask, parseCpuMask, xpsPlan} from '../observe/sysfs.js'
import {cpuQueueMap, type AttributionContext} from '../sessions/attribution.js'
import type {QueueReadback, Testbed, TestbedOptions, TestbedSpec} from './types.js'

/**
 * veth runs the receiver's input path on the sending CPU, and spreads it over its per-queue NAPI
 * (counted in `ethtool -S` rx_queue_N_xdp_packets) only with GRO on at the receiver and TSO off at
 * the sender (docs/platform.md). Both ends send and receive, so both get both settings.
 */
function enablePerQueueNapi(dev: string, netns: string): void {
  try {
    runInNetns(netns, 'ethtool', ['-K', dev, 'gro', 'on', 'tso', 'off'])
  } catch (err) {
    throw new MqbError(
      `cannot set GRO on / TSO off on ${dev}: ${(err as Error).message}`,
      ExitCode.unsupported,
    )
  }
}

/**
 * XPS on one end: tx-K gets the CPUs i with i mod n == K, so that each CPU sends on one queue and a
 * pinned sender's queue is known by construction (veth delivers tx-K to the peer's rx-K). A queue
 * count change resets the maps of queues it removes, so this follows every change. One queue has
 * no xps_cpus (the kernel hides it) and needs none.
 */
function setXps(dev: string, netns: string, n: number): void {
  if (n < 2) return
  const io = observeIO({netns})
  xpsPlan(onlineCpus(), n).forEach((cpus, q) =>
    io.writeDeviceFile(dev, `queues/tx-${q}/xps_cpus`, formatCpuMask(cpus)),
  )
}

/** The client end's CPU -> tx queue map as the kernel holds it now (read back, not what was written). */
export function vethAttribution(dev: string, netns: string, n: number): AttributionContext {
  if (n < 2) return {method: 'veth-xps', cpuQueue: Object.fromEntries(onlineCpus().map((c) => [c, 0]))}
  const files = observeIO({netns}).deviceFiles(dev).files
  const masks = Array.from({length: n}, (_, q) => parseCpuMask(files[`queues/tx-${q}/xps_cpus`] ?? '0'))
  return {method: 'veth-xps', cpuQueue: cpuQueueMap(masks)}
}

export function createVethTestbed(spec: TestbedSpec, opts: TestbedOptions): Testbed {
  const {nsA, nsB, devA, devB} = endpointNames(spec.name)
  const {ipA, ipB, prefix} = endpointAddresses(spec.name)
  const max = opts.maxQueues
  const undos: Array<() => void> = []
  try {
    undos.push(createNetns(nsA, opts.cleanup), createNetns(nsB, opts.cleanup))
    quietNamespace(nsA)
    quietNamespace(nsB)
    undos.push(
      createVethPair(
        {name: devA, netns: nsA, address: `${ipA}/${prefix}`},
        {name: devB, netns: nsB, address: `${ipB}/${prefix}`},
        max,
        {cleanup: opts.cleanup},
      ),
    )
    enablePerQueueNapi(devA, nsA)
    enablePerQueueNapi(devB, nsB)
    let count = max
    const both = (ch: {rx: number; tx: number}) => (ch.rx === ch.tx ? ch.rx : -1)
    const testbed: Testbed = {
      kind: 'veth',
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
            `queue count ${n} is outside 1..${max}, the queues this veth testbed was created with`,
            ExitCode.unsupported,
          )
        for (const [dev, ns] of [
          [devA, nsA],
          [devB, nsB],
        ]) {
          try {
            ifctl.setChannels(dev, {rx: n, tx: n}, ns)
          } catch (err) {
            throw fromNative(err, {dev})
          }
        }
        count = n
        setXps(devA, nsA, n)
        setXps(devB, nsB, n)
        const read = readBackQueues(devA, nsA, n, both)
        readBackQueues(devB, nsB, n, both)
        return read
      },
      queueCount: () => count,
      queueAttribution: () => vethAttribution(devA, nsA, count),
      checkHealthy: async () => {},
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
