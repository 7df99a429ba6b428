// gen towards a device on an SSH host (docs/hosts.md): the senders run here (runGen), the
// receiver is the far agent's (`rx_start`/`rx_stop`, one AF_PACKET socket per receive queue of that
// device in a PACKET_FANOUT_QM group), and its counts are folded in as a guest receiver's are
// (gen/vm.ts): per sender queue with loss, reordering and duplicates, and the placement matrix.
import {setTimeout as sleep} from 'node:timers/promises'
import {ExitCode, MqbError} from '../errors.js'
import {countReceived} from './result.js'
import {runGen, type GenKernel, type GenOptions, type GenProgress} from './run.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import type {NativeRxThreadStats} from '../native.js'
import type {GenResult} from '../results/schema.js'
import {explainFarFailure, openFarHost, type FarCheck} from '../hosts/far-end.js'
import type {FarHost} from '../hosts/ssh.js'

// As gen/vm.ts: frames in flight when the senders end reach the far receiver within this.
const DRAIN_MS = 500

/** The far device's MAC, its receive queues, and whether it is a real device (sysfs `device` link). */
export async function farDevice(
  host: FarHost,
  dev: string,
): Promise<{mac: string; rxQueues: number; physical: boolean}> {
  const address = await host.readFile(`/sys/class/net/${dev}/address`)
  const queues = await host.listDir(`/sys/class/net/${dev}/queues`)
  const top = await host.listDir(`/sys/class/net/${dev}`)
  return {
    mac: address.data.trim(),
    rxQueues: queues.entries.filter((e) => /^rx-\d+$/.test(e.name)).length,
    physical: top.entries.some((e) => e.name === 'device'),
  }
}

/**
 * Sends with `opts` here towards `rxDev` on the host `url`, counted there. The destination MAC is
 * the far device's; the destination IP, unless given, the address the far sshd answered on.
 */
export async function runFarRxGen(
  url: string,
  rxDev: string,
  opts: Omit<GenOptions, 'rx' | 'dstMac' | 'dstIp'> & {dstMac?: string; dstIp?: string},
  hooks: {
    signal?: AbortSignal
    onProgress?: (p: GenProgress) => void
    cleanup?: CleanupRegistry
    /** what the receiver needs there (a raw socket's CAP_NET_RAW, the device), checked first */
    check: FarCheck
  },
): Promise<GenResult & {kernel?: GenKernel}> {
  const host = await openFarHost(url, hooks.cleanup)
  try {
    await hooks.check(host)
    const far = await farDevice(host, rxDev)
    if (far.rxQueues < 1)
      throw new MqbError(`far end ${url}: ${rxDev} has no receive queues`, ExitCode.noDevice)
    await host.rxStart({
      dev: rxDev,
      sockets: far.rxQueues,
      queues: opts.queues,
      flowsPerQueue: opts.flowsPerQueue,
    })
    let threads: NativeRxThreadStats[]
    let result: GenResult & {kernel?: GenKernel}
    try {
      result = await runGen(
        {...opts, dstMac: opts.dstMac ?? far.mac, dstIp: opts.dstIp ?? host.address},
        hooks,
      )
      await sleep(DRAIN_MS)
    } finally {
      threads = host.failure ? [] : (await host.rxStop()).threads
    }
    // veth passes the sender's TX queue through as the receive queue; real NICs record queue + 1.
    const counted = countReceived(
      result.queues,
      {dev: `${rxDev} on ${url}`, threads, queueMappingOffset: far.physical ? 1 : 0},
      [],
    )
    result.rx = counted.rx
    result.placement = {...result.placement!, matrix: counted.matrix}
    return result
  } catch (err) {
    throw await explainFarFailure(host, err)
  } finally {
    await host.close()
  }
}
