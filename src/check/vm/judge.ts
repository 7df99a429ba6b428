// The few ways a case turns what it read into a PlanCheck, in one place: a condition that holds
// or not, a check that does not apply (always with the reason), and a check whose purpose is to
// show that mqbench notices a broken setup (PASS when the inner check FAILed as it should).
import {median} from '../../results/estimate.js'
import type {PlanCheck, PlanParams} from './types.js'

export const verdict = (id: string, title: string, ok: boolean, evidence: string): PlanCheck => ({
  id,
  title,
  status: ok ? 'PASS' : 'FAIL',
  evidence,
})

export const notApplicable = (id: string, title: string, why: string): PlanCheck => ({
  id,
  title,
  status: 'N/A',
  evidence: why,
})

/**
 * A broken setup made on purpose (too few vectors, XPS crossed): the inner check must FAIL; the
 * outer one PASSes when it did and FAILs when mqbench did not notice (or could not judge).
 */
export function detects(id: string, title: string, inner: PlanCheck | undefined, setup: string): PlanCheck {
  if (!inner) return verdict(id, title, false, `${setup}: the check that should notice did not run`)
  return verdict(
    id,
    title,
    inner.status === 'FAIL',
    `${setup}: "${inner.title}" ${inner.status === 'FAIL' ? 'FAILed as it should' : `said ${inner.status}`} (${inner.evidence})`,
  )
}

/** How many times a case runs each of its performance loads (--repeats; a plan file without it ran each once). */
export const loadRepeats = (p: Pick<PlanParams, 'repeats'>): number => p.repeats ?? 1

/**
 * The checks of a load judged on every repeat, one check per id: a queue that carried no
 * interrupts in one repeat of the same load on the same guest is an intermittent fault that a
 * tp-qemu user wants reported, not averaged away, so the worst repeat decides (FAIL, then N/A,
 * then PASS) and its evidence is quoted with which repeat it was. One repeat: the checks as they are.
 */
export function acrossRepeats(runs: PlanCheck[][]): PlanCheck[] {
  if (runs.length <= 1) return runs[0] ?? []
  const rank = {FAIL: 0, 'N/A': 1, PASS: 2} as const
  return runs[0].map((first) => {
    const each = runs.map((checks) => checks.find((c) => c.id === first.id))
    const worst = each.reduce<{c: PlanCheck; i: number} | undefined>((w, c, i) => {
      if (!c) return w
      return !w || rank[c.status] < rank[w.c.status] ? {c, i} : w
    }, undefined)!
    const missing = each.filter((c) => !c).length
    const same = each.filter((c) => c?.status === worst.c.status).length
    if (missing)
      return {
        ...first,
        status: 'FAIL',
        evidence: `judged in ${runs.length - missing} of ${runs.length} repeats only`,
      }
    return {
      ...worst.c,
      evidence: `repeat ${worst.i + 1} of ${runs.length} (${same} ${worst.c.status}): ${worst.c.evidence}`,
    }
  })
}

/**
 * A case's `numbers` over its repeats, so that they describe every repeat as its loads do: counts
 * (packets sent, received) add up over the repeats, rates take the median (the figure the report's
 * load rows lead with); text and flags are the first repeat's.
 */
export function numbersAcrossRepeats<T extends Record<string, number | string | boolean>>(
  runs: T[],
  how: 'sum' | 'median',
): T {
  const out: Record<string, number | string | boolean> = {...runs[0]}
  for (const [k, v] of Object.entries(runs[0] ?? {})) {
    if (typeof v !== 'number') continue
    const all = runs.map((r) => r[k]).filter((x): x is T[string] & number => typeof x === 'number')
    out[k] = how === 'sum' ? all.reduce((a, b) => a + b, 0) : median(all)
  }
  return out as T
}
