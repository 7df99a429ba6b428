// The two shapes every case's checks take: a judged condition (PASS/FAIL with the numbers read)
// and a check a case could not reach (N/A with the reason), shared so that cases word them alike.
import type {PlanCheck} from './types.js'

export const check = (id: string, title: string, ok: boolean, evidence: string): PlanCheck => ({
  id,
  title,
  status: ok ? 'PASS' : 'FAIL',
  evidence,
})

export const notReached = (id: string, title: string, why: string): PlanCheck => ({
  id,
  title,
  status: 'N/A',
  evidence: `not reached: ${why}`,
})
