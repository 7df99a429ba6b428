// The few ways a case turns what it read into a PlanCheck, in one place: a condition that holds
// or not, a check that does not apply (always with the reason), and a check whose purpose is to
// show that mqbench notices a broken setup (PASS when the inner check FAILed as it should).
import type {PlanCheck} from './types.js'

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
