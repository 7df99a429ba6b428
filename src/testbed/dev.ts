// The dev:IF testbed: a real interface on this host and a `mqbench server` on another host.
// Changing a NIC's channel count makes most drivers rewrite IRQ affinity and XPS masks, so the
// original channels, IRQ affinity and RPS/XPS masks are saved first and written back at the end
// (and by `testbed down` from the registry record if the run was killed).
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {ExitCode, MqbError, errnoCode, fromNative} from '../errors.js'
import {
  explainFarFailure,
  isSshUrl,
  openFarHost,
  startFarServer,
  stopFarServer,
  type FarCheck,
} from '../hosts/far-end.js'
import {ifctl, type Channels} from '../native.js'
import {runOk} from '../util/exec.js'
import {readBackQueues} from './common.js'
import type {QueueReadback, Testbed, TestbedOptions, TestbedSpec} from './types.js'

export interface DevState {
  dev: string
  channels: {rx?: number; tx?: number; combined?: number}
  /** /proc/irq/N/smp_affinity_list by IRQ number */
  irqAffinity: Record<string, string>
  /** rps_cpus / xps_cpus by queue directory (rx-0, tx-3) */
  rps: Record<string, string>
  xps: Record<string, string>
}

const usesCombined = (ch: Channels) => ch.maxCombined > 0

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

/** IRQs of the device: its MSI vectors, else /proc/interrupts lines that name it. */
export function deviceIrqs(dev: string, root = '/'): string[] {
  try {
    return readdirSync(`${root}sys/class/net/${dev}/device/msi_irqs`)
  } catch {
    const lines = readIfExists(`${root}proc/interrupts`)?.split('\n') ?? []
    const named = new RegExp(`(^|[^\\w.-])${dev.replace(/[.]/g, '\\.')}($|[^\\w.])`)
    return lines
      .filter((l) => l.includes(':') && named.test(l.slice(l.indexOf(':') + 1)))
      .map((l) => l.split(':')[0].trim())
  }
}

export function saveDevState(dev: string, ch: Channels, root = '/'): DevState {
  const state: DevState = {
    dev,
    channels: usesCombined(ch) ? {combined: ch.combined} : {rx: ch.rx, tx: ch.tx},
    irqAffinity: {},
    rps: {},
    xps: {},
  }
  for (const irq of deviceIrqs(dev, root)) {
    const a = readIfExists(`${root}proc/irq/${irq}/smp_affinity_list`)
    if (a !== undefined) state.irqAffinity[irq] = a
  }
  let queues: string[] = []
  try {
    queues = readdirSync(`${root}sys/class/net/${dev}/queues`)
  } catch {}
  for (const q of queues) {
    const rps = q.startsWith('rx-')
      ? readIfExists(`${root}sys/class/net/${dev}/queues/${q}/rps_cpus`)
      : undefined
    const xps = q.startsWith('tx-')
      ? readIfExists(`${root}sys/class/net/${dev}/queues/${q}/xps_cpus`)
      : undefined
    if (rps !== undefined) state.rps[q] = rps
    if (xps !== undefined) state.xps[q] = xps
  }
  return state
}

/** Writes the saved state back; returns what could not be restored (never throws). */
export function restoreDevState(state: DevState, root = '/'): string[] {
  const failed: string[] = []
  try {
    ifctl.setChannels(state.dev, state.channels)
  } catch (err) {
    failed.push(`channels of ${state.dev}: ${(err as Error).message}`)
  }
  const write = (path: string, value: string) => {
    try {
      writeFileSync(path, value)
    } catch (err) {
      // an IRQ whose affinity is managed by the kernel refuses writes (EIO): not ours to fix
      if (errnoCode(err) !== 'EIO') failed.push(`${path}: ${(err as Error).message}`)
    }
  }
  for (const [irq, list] of Object.entries(state.irqAffinity))
    write(`${root}proc/irq/${irq}/smp_affinity_list`, list)
  for (const [q, mask] of Object.entries(state.rps))
    write(`${root}sys/class/net/${state.dev}/queues/${q}/rps_cpus`, mask)
  for (const [q, mask] of Object.entries(state.xps))
    write(`${root}sys/class/net/${state.dev}/queues/${q}/xps_cpus`, mask)
  return failed
}

function firstIpv4(dev: string): string {
  const [l] = JSON.parse(runOk('ip', ['-j', '-4', 'addr', 'show', 'dev', dev])) as Array<{
    addr_info: Array<{local: string}>
  }>
  const ip = l?.addr_info?.[0]?.local
  if (!ip)
    throw new MqbError(
      `${dev} has no IPv4 address; the remote server must be reachable through it`,
      ExitCode.noDevice,
    )
  return ip
}

export function parseServer(server: string): {host: string; port?: number} {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(server.trim())
  if (!m) throw new MqbError(`--server '${server}' is not host[:port]`, ExitCode.badInput)
  return {host: m[1], port: m[2] ? Number(m[2]) : undefined}
}

export async function createDevTestbed(
  spec: TestbedSpec,
  opts: TestbedOptions & {onSaved?: (s: DevState) => void},
): Promise<Testbed> {
  const dev = spec.dev!
  if (!spec.server)
    throw new MqbError(
      `the dev:${dev} testbed needs a remote \`mqbench server\`: add --server HOST[:PORT] and --token`,
      ExitCode.badInput,
    )
  const farCheck = opts.farCheck
  if (isSshUrl(spec.server) && !farCheck)
    throw new MqbError(`${spec.server}: the dev testbed was given no far-end check`, ExitCode.failure)
  let ch: Channels
  try {
    ch = ifctl.getChannels(dev)
  } catch (err) {
    if (errnoCode(err) === 'EOPNOTSUPP')
      throw new MqbError(
        `${dev} has no ethtool channels: its queue count cannot be changed`,
        ExitCode.unsupported,
      )
    throw fromNative(err, {dev})
  }
  const hwMax = usesCombined(ch) ? ch.maxCombined : Math.min(ch.maxRx, ch.maxTx)
  if (opts.maxQueues > hwMax)
    throw new MqbError(
      `${dev} supports at most ${hwMax} queues (ethtool -l), ${opts.maxQueues} asked`,
      ExitCode.unsupported,
    )
  const state = saveDevState(dev, ch)
  opts.onSaved?.(state)
  const undo = opts.cleanup.add(`channels, IRQ affinity and RPS/XPS of ${dev}`, () => {
    const failed = restoreDevState(state)
    if (failed.length) throw new Error(failed.join('; '))
  })
  let count = usesCombined(ch) ? ch.combined : ch.rx
  const far = isSshUrl(spec.server)
    ? await sshFarEnd(spec.server, opts.cleanup, farCheck!).catch(fail(undo))
    : undefined
  const remote = far ? undefined : parseServer(spec.server)
  return {
    kind: 'dev',
    name: spec.name,
    nsA: '',
    nsB: '',
    devA: dev,
    devB: dev,
    ipA: firstIpv4(dev),
    ipB: far?.host.address ?? remote!.host,
    maxQueues: hwMax,
    ...(far ? far.parts : {remote: {...remote!, token: spec.token}}),
    async setQueueCount(n: number): Promise<QueueReadback> {
      if (!Number.isInteger(n) || n < 1 || n > hwMax)
        throw new MqbError(
          `queue count ${n} is outside 1..${hwMax}, what ${dev} supports`,
          ExitCode.unsupported,
        )
      try {
        ifctl.setChannels(dev, usesCombined(ch) ? {combined: n} : {rx: n, tx: n})
      } catch (err) {
        throw fromNative(err, {dev})
      }
      count = n
      return readBackQueues(dev, '', n, (c) => (usesCombined(ch) ? c.combined : c.rx === c.tx ? c.rx : -1))
    },
    queueCount: () => count,
    checkHealthy: async () => {
      if (far?.host.failure) throw new MqbError(far.host.failureLine(), ExitCode.partial)
    },
    close: async () => {
      await far?.host.close()
      undo()
    },
  }
}

const fail = (undo: () => void) => (err: unknown) => {
  undo()
  throw err
}

/** --server ssh://HOST: the far end is the agent on that host, its session server started per run. */
async function sshFarEnd(url: string, cleanup: TestbedOptions['cleanup'], check: FarCheck) {
  const host = await openFarHost(url, cleanup)
  const parts: Pick<Testbed, 'farHost' | 'explain' | 'startFarServer'> = {
    farHost: url,
    explain: (err) => explainFarFailure(host, err),
    startFarServer: async (token, maxSessions) => {
      const s = await startFarServer(host, {sessions: maxSessions, token, check})
      return {port: s.port, close: () => stopFarServer(s)}
    },
  }
  return {host, parts}
}
