// CPU lists as the kernel writes them ("0-3,6,8-9"): parsing, formatting, and the online CPUs.
import {readFileSync} from 'node:fs'
import {availableParallelism} from 'node:os'

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

/** CPU numbers -> the kernel's compact list ("0-3,6,8-9"); '' for none. */
export function formatCpus(cpus: number[]): string {
  const s = [...cpus].sort((a, b) => a - b)
  const parts: string[] = []
  for (let i = 0; i < s.length;) {
    let j = i
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`)
    i = j + 1
  }
  return parts.join(',')
}
