// What a results file records about the machine it ran on.
import {readFileSync, readdirSync} from 'node:fs'
import {hostname, release} from 'node:os'
import {createRequire} from 'node:module'
import {onlineCpus} from './cpus.js'

/** What a results file records about the machine (results/schema.ts stores it as `host`). */
export interface HostInfo {
  hostname: string
  kernel: string
  cpuModel: string
  onlineCpus: number
  numaNodes: number
  nodeVersion: string
  mqbenchVersion: string
}

export function mqbenchVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as {version: string}).version
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
