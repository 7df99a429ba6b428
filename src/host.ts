// What a results file records about the machine it ran on.
import {readFileSync, readdirSync} from 'node:fs'
import {hostname, release} from 'node:os'
import {availableParallelism} from 'node:os'
import {createRequire} from 'node:module'
import type {HostInfo} from './results/schema.js'

export function mqbenchVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as {version: string}).version
}

/** Online CPUs as listed in /sys/devices/system/cpu/online ("0-3,6"), falling back to the count node sees. */
export function onlineCpus(root = '/'): number[] {
  try {
    return parseCpuList(readFileSync(`${root}sys/devices/system/cpu/online`, 'utf8'))
  } catch {
    return Array.from({length: availableParallelism()}, (_, i) => i)
  }
}

/** Parses a kernel CPU list ("0-3,6,8-9") into CPU numbers. */
export function parseCpuList(text: string): number[] {
  const out: number[] = []
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map((s) => Number.parseInt(s, 10))
    if (Number.isNaN(a)) continue
    for (let c = a; c <= (b ?? a); c++) out.push(c)
  }
  return out
}

export function hostInfo(root = '/'): HostInfo {
  let cpuModel = 'unknown'
  try {
    cpuModel =
      /model name\s*:\s*(.+)/.exec(readFileSync(`${root}proc/cpuinfo`, 'utf8'))?.[1]?.trim() ?? cpuModel
  } catch {}
  let numaNodes = 1
  try {
    numaNodes = readdirSync(`${root}sys/devices/system/node`).filter((n) => /^node\d+$/.test(n)).length || 1
  } catch {}
  return {
    hostname: hostname(),
    kernel: release(),
    cpuModel,
    onlineCpus: onlineCpus(root).length,
    numaNodes,
    nodeVersion: process.version,
    mqbenchVersion: mqbenchVersion(),
  }
}
