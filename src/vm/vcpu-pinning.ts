// vCPU pinning: each vCPU thread of a qemu (QMP query-cpus-fast names their thread ids) bound to a
// host CPU, and read back from /proc/PID/task/TID/status (Cpus_allowed_list, what the scheduler
// lets the thread run on). The threads exist as soon as qemu answers QMP, also in a migration
// destination waiting with -incoming, and keep their ids across the switch-over: a destination is
// pinned before the guest moves, so that it never runs there unpinned.
import {readFileSync} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'
import {formatCpus, parseCpuList} from '../host/cpus.js'
import {run} from '../util/exec.js'
import type {QmpClient} from './qmp.js'

/** One vCPU thread of a qemu process and the host CPUs it may run on. */
export interface VcpuPlacement {
  vcpu: number
  threadId: number
  cpus: number[]
}

async function vcpuThreads(
  qmp: Pick<QmpClient, 'execute'>,
): Promise<Array<{vcpu: number; threadId: number}>> {
  const threads = await qmp.execute<Array<{'cpu-index': number; 'thread-id': number}>>('query-cpus-fast')
  return threads
    .map((t) => ({vcpu: t['cpu-index'], threadId: t['thread-id']}))
    .sort((a, b) => a.vcpu - b.vcpu)
}

/** The host CPU vCPU `i` goes to under a map of `cpus` (--vcpu-cpus: the (i mod n)-th). */
export const vcpuCpu = (cpus: number[], i: number) => cpus[i % cpus.length]

/** Pins each vCPU thread to its host CPU; returns the CPU of each vCPU in vCPU order. */
export async function pinVcpus(qmp: Pick<QmpClient, 'execute'>, cpus: number[]): Promise<number[]> {
  const placed: number[] = []
  for (const t of await vcpuThreads(qmp)) {
    const cpu = vcpuCpu(cpus, t.vcpu)
    const r = run('taskset', ['-pc', String(cpu), String(t.threadId)])
    if (r.status !== 0)
      throw new MqbError(`cannot pin vCPU ${t.vcpu} to CPU ${cpu}: ${r.stderr.trim()}`, ExitCode.badInput)
    placed.push(cpu)
  }
  return placed
}

/** The Cpus_allowed_list of a /proc/.../status text; undefined when the line is missing. */
export function parseCpusAllowed(status: string): number[] | undefined {
  const m = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(status)
  return m ? parseCpuList(m[1]) : undefined
}

/**
 * Each vCPU thread of qemu process `pid` (thread ids from its QMP) with the CPUs it may run on, read
 * under /proc/PID/task: a thread id that is not a task of `pid` is refused rather than read elsewhere.
 */
export async function readVcpuPlacement(
  qmp: Pick<QmpClient, 'execute'>,
  pid: number,
): Promise<VcpuPlacement[]> {
  const out: VcpuPlacement[] = []
  for (const t of await vcpuThreads(qmp)) {
    let cpus: number[] | undefined
    try {
      cpus = parseCpusAllowed(readFileSync(`/proc/${pid}/task/${t.threadId}/status`, 'utf8'))
    } catch {
      cpus = undefined
    }
    if (!cpus)
      throw new MqbError(
        `cannot read the CPU affinity of vCPU ${t.vcpu} (thread ${t.threadId}) of qemu pid ${pid}`,
        ExitCode.failure,
      )
    out.push({vcpu: t.vcpu, threadId: t.threadId, cpus})
  }
  return out
}

/** "vCPU 0 (tid 3753) on 1, vCPU 1 (tid 3754) on 0" */
export const describePlacement = (p: VcpuPlacement[]) =>
  p.map((v) => `vCPU ${v.vcpu} (tid ${v.threadId}) on ${formatCpus(v.cpus)}`).join(', ')

/**
 * Whether `got` places every vCPU on the same CPUs as `want` does (same vCPUs, same CPU sets;
 * thread ids differ between two qemus): undefined when it does, else the sentence saying where not.
 */
export function placementMismatch(want: VcpuPlacement[], got: VcpuPlacement[]): string | undefined {
  const diffs: string[] = []
  const wanted = new Map(want.map((v) => [v.vcpu, formatCpus(v.cpus)]))
  for (const v of got) {
    const w = wanted.get(v.vcpu)
    const g = formatCpus(v.cpus)
    if (w === undefined) diffs.push(`vCPU ${v.vcpu} is not in the source`)
    else if (w !== g) diffs.push(`vCPU ${v.vcpu} on ${g}, not ${w}`)
    wanted.delete(v.vcpu)
  }
  for (const vcpu of wanted.keys()) diffs.push(`vCPU ${vcpu} is missing`)
  return diffs.length ? diffs.join('; ') : undefined
}
