// `tune --apply` and `tune --revert`: the changes the advice implies (channels raised to one per
// local CPU, queue interrupts 1:1 on local CPUs, XPS tx-K -> CPU K), each old value saved in an
// undo file before it is overwritten. The file is rewritten atomically before every phase, so
// whatever stops the apply, the file on disk lists everything already changed.
import {readFileSync} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'
import {parseCpuList} from '../host/cpus.js'
import {readDeviceConfigWith, type DeviceConfig} from '../observe/config.js'
import {parseInterrupts} from '../observe/interrupts.js'
import type {ObserveIO} from '../observe/io.js'
import {formatCpus} from '../host/cpus.js'
import {formatCpuMask} from '../observe/sysfs.js'
import {writeFileAtomic} from '../host/files.js'
import {channelState, targetQueueCount, xpsPlan} from './findings.js'

export const UNDO_KIND = 'mqbench/tune-undo'

export interface UndoFile {
  kind: typeof UNDO_KIND
  version: 1
  dev: string
  netns: string
  createdAt: string
  /** channels before the apply, in the mode the driver uses */
  channels?: {combined?: number; rx?: number; tx?: number}
  /** tx queue -> CPU list ("" = XPS off) before the apply */
  xps: Record<string, string>
  /** by line name: the IRQ number can change when a driver reallocates its vectors */
  irqAffinity: Array<{name: string; irq: string; allowed: string}>
}

export interface TuneChange {
  what: string
  from: string
  to: string
}

export interface AffinityChange {
  irq: string
  name: string
  cpu: number
}

/** Queue K's lines (rx, tx, combined) to local CPU K mod n, where they are not there already. */
export function affinityPlan(c: DeviceConfig): AffinityChange[] {
  const queues = [...new Set(c.irqs.filter((q) => q.queue !== undefined).map((q) => q.queue!))].sort(
    (a, b) => a - b,
  )
  const out: AffinityChange[] = []
  for (const q of c.irqs) {
    if (q.queue === undefined || !q.affinity) continue
    const cpu = c.localCpus[queues.indexOf(q.queue) % c.localCpus.length]
    if (q.affinity.allowed.length === 1 && q.affinity.allowed[0] === cpu) continue
    out.push({irq: q.irq, name: q.name, cpu})
  }
  return out
}

/** XPS masks that differ from xpsPlan; queues whose mask the kernel hides (single queue) are left alone. */
export function xpsChanges(c: DeviceConfig): Array<{queue: number; cpus: number[]}> {
  const plan = xpsPlan(c.localCpus, c.txQueues.length)
  return c.txQueues
    .filter((q) => q.xpsCpus !== undefined && c.txQueues.length > 1)
    .map((q, i) => ({queue: q.queue, cpus: plan[i], before: q.xpsCpus!}))
    .filter((x) => formatCpus(x.cpus) !== formatCpus(x.before))
    .map(({queue, cpus}) => ({queue, cpus}))
}

function channelsOf(c: DeviceConfig): UndoFile['channels'] {
  const s = channelState(c)
  if (!s) return undefined
  return s.mode === 'combined' ? {combined: c.channels!.combined} : {rx: c.channels!.rx, tx: c.channels!.tx}
}

export function defaultUndoPath(dev: string, now = new Date()): string {
  return `/var/tmp/mqbench-tune-${dev}-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}.json`
}

function save(path: string, undo: UndoFile): void {
  try {
    writeFileAtomic(path, JSON.stringify(undo, null, 2) + '\n')
  } catch (err) {
    throw new MqbError(
      `cannot write the undo file ${path}: ${(err as Error).message}; nothing was changed`,
      ExitCode.failure,
    )
  }
}

/**
 * Applies the plan to `dev` (with `queueCount`, that many channels instead of one per local CPU). The undo file is on disk before the first change; when a change
 * fails, what was already changed is reverted and the error is thrown.
 */
export function applyTune(
  io: ObserveIO,
  dev: string,
  undoPath: string,
  opts: {queueCount?: number} = {},
): {undoFile: string; changes: TuneChange[]} {
  const before = readDeviceConfigWith(io, dev)
  const undo: UndoFile = {
    kind: UNDO_KIND,
    version: 1,
    dev,
    netns: io.netns,
    createdAt: new Date().toISOString(),
    xps: {},
    irqAffinity: [],
  }
  const ch = channelsOf(before)
  if (ch) undo.channels = ch
  save(undoPath, undo)
  const changes: TuneChange[] = []
  try {
    const s = channelState(before)
    // A queue count measured by a scale run (--from) wins over one per CPU, up or down.
    const target =
      opts.queueCount !== undefined && s ? Math.min(opts.queueCount, s.max) : targetQueueCount(before)
    if (
      s &&
      target !== undefined &&
      (opts.queueCount !== undefined ? s.current !== target : s.current < target)
    ) {
      io.setChannels(dev, s.mode === 'combined' ? {combined: target} : {rx: target, tx: target})
      changes.push({
        what: `${dev} ${s.mode === 'combined' ? 'combined channels' : 'rx/tx queues'}`,
        from: String(s.current),
        to: String(target),
      })
    }
    // Queue lines and tx queues exist only after the channel change: plan against a fresh read.
    const now = changes.length ? readDeviceConfigWith(io, dev) : before
    const aff = affinityPlan(now)
    const xps = xpsChanges(now)
    // Queues and lines the channel change created go away when it is reverted: only what
    // existed before the apply has a value to restore.
    for (const a of aff) {
      const cur = now.irqs.find((q) => q.irq === a.irq)!.affinity!
      if (before.irqs.some((q) => q.name === a.name))
        undo.irqAffinity.push({name: a.name, irq: a.irq, allowed: formatCpus(cur.allowed)})
    }
    for (const x of xps) {
      if (before.txQueues.some((q) => q.queue === x.queue))
        undo.xps[String(x.queue)] = formatCpus(now.txQueues.find((q) => q.queue === x.queue)!.xpsCpus ?? [])
    }
    save(undoPath, undo)
    for (const a of aff) {
      io.writeHostFile(`proc/irq/${a.irq}/smp_affinity_list`, String(a.cpu))
      const was = now.irqs.find((q) => q.irq === a.irq)!.affinity!.allowed
      changes.push({what: `IRQ ${a.irq} (${a.name}) affinity`, from: formatCpus(was), to: String(a.cpu)})
    }
    for (const x of xps) {
      io.writeDeviceFile(dev, `queues/tx-${x.queue}/xps_cpus`, formatCpuMask(x.cpus))
      changes.push({
        what: `${dev} tx-${x.queue} XPS`,
        from: formatCpus(now.txQueues.find((q) => q.queue === x.queue)!.xpsCpus ?? []) || 'off',
        to: formatCpus(x.cpus),
      })
    }
  } catch (err) {
    const r = revertTune(io, undo)
    const extra = r.failures.length
      ? `; reverting also failed: ${r.failures.join('; ')} (the undo file is ${undoPath})`
      : '; what was changed has been reverted'
    if (err instanceof MqbError) throw new MqbError(`${err.message}${extra}`, err.exitCode, err.suggestions)
    throw err
  }
  return {undoFile: undoPath, changes}
}

export function loadUndoFile(path: string): UndoFile {
  let obj: Partial<UndoFile>
  try {
    obj = JSON.parse(readFileSync(path, 'utf8')) as Partial<UndoFile>
  } catch (err) {
    const code = (err as {code?: string}).code
    throw new MqbError(
      `cannot read undo file ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      ExitCode.badInput,
    )
  }
  if (
    obj?.kind !== UNDO_KIND ||
    obj.version !== 1 ||
    typeof obj.dev !== 'string' ||
    typeof obj.xps !== 'object' ||
    !Array.isArray(obj.irqAffinity)
  )
    throw new MqbError(`${path} is not an undo file written by \`mqbench tune --apply\``, ExitCode.badInput)
  return {...obj, netns: obj.netns ?? ''} as UndoFile
}

/**
 * Puts back what an undo file lists: channels first (they decide which queues and lines exist),
 * then XPS, then IRQ affinity found by line name. Keeps going past a failure and reports each.
 */
export function revertTune(io: ObserveIO, undo: UndoFile): {restored: TuneChange[]; failures: string[]} {
  const restored: TuneChange[] = []
  const failures: string[] = []
  const attempt = (what: string, fn: () => void) => {
    try {
      fn()
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message}`)
    }
  }
  const dev = undo.dev
  if (undo.channels) {
    attempt(`${dev} channels`, () => {
      const ch = io.channels(dev)
      const want = undo.channels!
      const differs =
        want.combined !== undefined
          ? ch?.combined !== want.combined
          : ch?.rx !== want.rx || ch?.tx !== want.tx
      if (!differs) return
      io.setChannels(dev, want)
      const from = want.combined !== undefined ? String(ch?.combined) : `${ch?.rx}/${ch?.tx}`
      restored.push({
        what: `${dev} channels`,
        from,
        to: want.combined !== undefined ? String(want.combined) : `${want.rx}/${want.tx}`,
      })
    })
  }
  for (const [queue, cpus] of Object.entries(undo.xps)) {
    attempt(`${dev} tx-${queue} XPS`, () => {
      io.writeDeviceFile(dev, `queues/tx-${queue}/xps_cpus`, formatCpuMask(cpus ? parseCpuList(cpus) : []))
      restored.push({what: `${dev} tx-${queue} XPS`, from: 'tuned', to: cpus || 'off'})
    })
  }
  const table = undo.irqAffinity.length
    ? parseInterrupts(io.readHostFile('proc/interrupts') ?? '')
    : undefined
  for (const a of undo.irqAffinity) {
    attempt(`IRQ ${a.name} affinity`, () => {
      const irq = table?.lines.find((l) => l.name === a.name)?.irq ?? a.irq
      io.writeHostFile(`proc/irq/${irq}/smp_affinity_list`, a.allowed)
      restored.push({what: `IRQ ${irq} (${a.name}) affinity`, from: 'tuned', to: a.allowed})
    })
  }
  return {restored, failures}
}
