// The guest's side of the per-queue evidence: one agent `exec` gathers what a host snapshot reads
// (sysfs of the device, /proc/interrupts, softnet_stat, `ethtool -i/-S` from the copy carried in
// the initramfs), and the host's own observe/ parsers turn it into a DeviceSnapshot. One round
// trip per snapshot: under TCG each agent call costs milliseconds of a slow guest.
import {
  NETNS_SCRIPT,
  parseDeviceDump,
  takeSnapshotWith,
  type DeviceSnapshot,
  type ObserveIO,
} from '../observe/index.js'
import type {AgentFacade} from './agent-ops.js'

const SECTIONS = ['dev', 'interrupts', 'softnet', 'ethtool-i', 'ethtool-S'] as const
type Section = (typeof SECTIONS)[number]

/** The shell script run in the guest; sections start with "@@NAME" lines. */
export function guestSnapshotScript(): string {
  return [
    `echo @@dev; (${NETNS_SCRIPT})`,
    'echo @@interrupts; cat /proc/interrupts',
    'echo @@softnet; cat /proc/net/softnet_stat',
    'echo @@ethtool-i; ethtool -i "$1" 2>/dev/null',
    'echo @@ethtool-S; ethtool -S "$1" 2>/dev/null',
  ].join('\n')
}

export function splitSections(text: string): Partial<Record<Section, string>> {
  const out: Partial<Record<Section, string>> = {}
  let cur: Section | undefined
  for (const line of text.split('\n')) {
    const m = /^@@([\w-]+)$/.exec(line)
    if (m && (SECTIONS as readonly string[]).includes(m[1])) {
      cur = m[1] as Section
      out[cur] = ''
    } else if (cur) out[cur] += `${line}\n`
  }
  return out
}

/** An ObserveIO over text already fetched from the guest (reads only). */
export function guestIO(dev: string, s: Partial<Record<Section, string>>): ObserveIO {
  const none = () => {
    throw new Error('the guest snapshot is read-only')
  }
  const host: Record<string, string | undefined> = {
    'proc/interrupts': s.interrupts,
    'proc/net/softnet_stat': s.softnet,
  }
  return {
    root: '/',
    netns: 'guest',
    readHostFile: (p) => host[p],
    listHostDir: () => [],
    deviceFiles: () => parseDeviceDump(dev, s.dev ?? ''),
    ethtool: (args) => {
      const text = args[0] === '-i' ? s['ethtool-i'] : args[0] === '-S' ? s['ethtool-S'] : undefined
      return text?.trim() ? text : undefined
    },
    channels: () => undefined,
    setChannels: none,
    rootQdisc: () => undefined,
    writeDeviceFile: none,
    writeHostFile: none,
  }
}

export async function guestSnapshot(agent: AgentFacade, dev: string): Promise<DeviceSnapshot> {
  const r = await agent.exec(['sh', '-c', guestSnapshotScript(), 'sh', dev], 10_000, {timeoutMs: 15_000})
  const sections = splitSections(r.stdout)
  if (!sections.dev?.trim())
    throw new Error(`no ${dev} in the guest: ${r.stderr.trim() || `status ${r.status}`}`)
  return {...takeSnapshotWith(guestIO(dev, sections), dev), netns: 'guest'}
}

/** The rx-N and tx-N queue directories of the guest's `dev` in sysfs, counted. */
export async function guestSysfsQueues(agent: AgentFacade, dev: string): Promise<{rx: number; tx: number}> {
  const names = (await agent.listDir(`/sys/class/net/${dev}/queues`)).entries.map((e) => e.name)
  return {
    rx: names.filter((e) => /^rx-\d+$/.test(e)).length,
    tx: names.filter((e) => /^tx-\d+$/.test(e)).length,
  }
}
