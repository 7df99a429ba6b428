// tp-qemu multi_queues_test's negative steps, the ethtool part: `ethtool -L combined` above the
// maximum (and 0) is refused and leaves the state as it was; `ethtool -L` to the count in force
// is not an error whatever ethtool's exit status (it differs between ethtool versions): the state
// read back from the three witnesses (guest channels, guest sysfs, host tap) is what counts.
import {GUEST_DEV, queueMismatch, type VmBed} from '../../../testbed/vm.js'
import {readGuestFacts} from '../guest-facts.js'
import {verdict} from '../judge.js'
import type {CaseOutcome, PlanCheck, VmCase} from '../types.js'

export interface Attempt {
  asked: number
  status: number
  /** ethtool's first stderr line */
  message: string
  /** undefined when the state read back is still `inForce` on every witness, else who saw what */
  changed?: string
  combined: number
  maxCombined: number
}

const said = (a: Attempt) => `exit ${a.status}${a.message ? ` (${a.message})` : ''}`

/** An out-of-range count must be refused (non-zero exit) and leave the state unchanged. */
export function judgeRefused(id: string, title: string, a: Attempt, inForce: number): PlanCheck {
  const refused = a.status !== 0
  return verdict(
    id,
    title,
    refused && !a.changed,
    `ethtool -L combined ${a.asked}: ${said(a)}; ${
      a.changed ?? `read back combined ${a.combined} of max ${a.maxCombined}, as before (${inForce})`
    }${refused ? '' : ': accepted'}`,
  )
}

/** The count in force again: whatever the exit status, the state must read back unchanged. */
export function judgeSameValue(a: Attempt): PlanCheck {
  return verdict(
    'same-value',
    `ethtool -L combined ${a.asked} (the count in force) leaves the state as it is`,
    !a.changed,
    `${said(a)}${a.status ? ' (this ethtool reports the no-op as an error; the state decides)' : ''}; ${
      a.changed ?? `read back combined ${a.combined} on channels, sysfs and the tap`
    }`,
  )
}

async function attempt(bed: VmBed, asked: number, inForce: number): Promise<Attempt> {
  const r = await bed.agent.exec(['ethtool', '-L', GUEST_DEV, 'combined', String(asked)])
  const f = await readGuestFacts(bed)
  return {
    asked,
    status: r.status,
    message: r.stderr.trim().split('\n')[0] ?? '',
    changed: queueMismatch(inForce, bed.maxQueues, {
      combined: f.channels.combined,
      sysfs: f.snapshot.queueCounts,
      tap: f.tap,
    }),
    combined: f.channels.combined,
    maxCombined: f.channels.maxCombined,
  }
}

export interface NegativeOptions {
  /** queue pairs of the guest (default: the shared guest's N); more than N is the broken setup */
  guestQueues?: (n: number) => number
}

export function makeNegativeCase(o: NegativeOptions = {}): VmCase {
  return {
    id: 'negative',
    title: 'ethtool -L above the maximum or to 0 is refused; to the count in force is no error',
    source: 'tp-qemu',
    set: 'default',
    boundMs: () => 60_000,
    async run(ctx): Promise<CaseOutcome> {
      const n = ctx.params.queues
      const bed = o.guestQueues ? await ctx.boot({queues: o.guestQueues(n)}) : await ctx.shared()
      const inForce = (await readGuestFacts(bed)).channels.combined
      try {
        ctx.phase(`ethtool -L combined ${n + 1}, 0 and ${inForce}`)
        const above = await attempt(bed, n + 1, inForce)
        const zero = await attempt(bed, 0, inForce)
        const same = await attempt(bed, inForce, inForce)
        return {
          checks: [
            judgeRefused(
              'above-max',
              `ethtool -L combined ${n + 1} (above the ${n} given) is refused`,
              above,
              inForce,
            ),
            judgeRefused('zero', 'ethtool -L combined 0 is refused', zero, inForce),
            judgeSameValue(same),
          ],
          figures: {inForce, exitStatus: {above: above.status, zero: zero.status, same: same.status}},
        }
      } finally {
        // An accepted change must not leave the shared guest altered.
        if ((await readGuestFacts(bed)).channels.combined !== inForce) await bed.setQueueCount(inForce)
      }
    },
  }
}

export const negativeCase = makeNegativeCase()
