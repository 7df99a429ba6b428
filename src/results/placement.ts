// Where a run's threads ran, end by end, as its results file recorded it: the client's and the
// server's engine threads (each rr/stream result's pinnedCpus), the tap relay's workers and a vm
// guest's vCPUs (config). Two runs placed differently measure their placement as much as anything
// else (docs/platform.md: one session's round trip is about 55 µs with the ends on two vCPUs and
// 12 µs on one), so compare.ts names every end whose placement differs.
import type {ResultsFile} from './schema.js'

/** A CPU list ([] = unpinned), `unknown` (the file predates the record), or `varied` between iterations. */
export type EndPlacement = number[] | 'unknown' | 'varied'

export type PlacedEnd = 'client' | 'server' | 'relay' | 'vCPUs'

/** The ends a run has: client and server for rr/stream, relay for a tap testbed, vCPUs for a vm one. */
export type RunPlacement = Partial<Record<PlacedEnd, EndPlacement>>

/** One end placed differently in two runs, or known in one and not in the other. */
export interface PlacementDifference {
  end: PlacedEnd
  before: EndPlacement
  after: EndPlacement
  /** false when one side is unknown: they may differ, nothing says they do */
  known: boolean
}

const ENDS: PlacedEnd[] = ['client', 'server', 'relay', 'vCPUs']

/** One value for all iterations, or `varied` when they disagree (a run resumed against another server). */
function common(values: EndPlacement[]): EndPlacement | undefined {
  const distinct = [...new Set(values.map((v) => JSON.stringify(v)))]
  if (distinct.length === 0) return undefined
  return distinct.length === 1 ? (JSON.parse(distinct[0]) as EndPlacement) : 'varied'
}

export function runPlacement(r: ResultsFile): RunPlacement {
  const results = r.steps.flatMap((s) => s.iterations.map((it) => it.result))
  const out: RunPlacement = {}
  const sessions = results.filter((x) => x.workload === 'rr' || x.workload === 'stream')
  if (sessions.length > 0) {
    // A result without pinnedCpus was written before the field: where its client ran is not known.
    // A server that did not announce its CPUs is known only if the sweep started it pinned.
    out.client = common(sessions.map((x) => x.pinnedCpus?.client ?? 'unknown'))
    out.server = common(sessions.map((x) => x.pinnedCpus?.server ?? r.config.pinnedCpus?.server ?? 'unknown'))
  }
  // config.pinnedCpus.relay and guest.vcpuCpus are absent when nothing was pinned (docs/results.md).
  if (r.config.testbed.kind === 'tap') out.relay = r.config.pinnedCpus?.relay ?? []
  if (r.config.testbed.kind === 'vm') out.vCPUs = r.config.testbed.guest?.vcpuCpus ?? 'unknown'
  return out
}

export function describePlacement(p: EndPlacement): string {
  if (p === 'unknown') return 'unknown (the file predates the record)'
  if (p === 'varied') return 'varied between iterations'
  return p.length === 0 ? 'unpinned' : `CPUs ${p.join(',')}`
}

const same = (a: EndPlacement, b: EndPlacement) => JSON.stringify(a) === JSON.stringify(b)

/** Every end both runs have whose placement differs or is known on one side only. */
export function placementDifferences(before: RunPlacement, after: RunPlacement): PlacementDifference[] {
  const out: PlacementDifference[] = []
  for (const end of ENDS) {
    const a = before[end]
    const b = after[end]
    // An end one run lacks (tap vs veth) is part of a larger difference: the testbed.
    if (a === undefined || b === undefined) continue
    // Two runs that each varied may still have varied alike: only "may differ" is known.
    if (same(a, b) && a !== 'varied') continue
    const known = a !== 'unknown' && b !== 'unknown' && !(a === 'varied' && b === 'varied')
    out.push({end, before: a, after: b, known})
  }
  return out
}
