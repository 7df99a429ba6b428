// Words for counts, so that no line says "1 queues" or "queue(s)".

/** "1 queue", "4 queues"; `many` for irregular plurals ("1 vCPU" / "2 vCPUs" are regular). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`
}
