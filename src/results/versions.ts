// The results file's version policy (docs/results.md): the version goes up when a field's meaning
// or shape changes; this mqbench reads every older version it knows by upgrading it in memory,
// one version at a time, to the current one (files on disk are never rewritten); a version newer
// than it knows is refused, naming both. An additive field keeps the version.
import {RESULTS_VERSION} from './schema.js'

type Json = Record<string, unknown>
const objects = (v: unknown): Json[] =>
  Array.isArray(v) ? v.filter((x): x is Json => typeof x === 'object' && x !== null) : []

/**
 * 1 -> 2: a UDP_STREAM result's `gbps` was the rate sent; it is now the rate received. Version 1
 * kept the datagrams sent and lost per session, which give the received rate back; `sentGbps`
 * keeps the old figure and `receivedOver` says the server counted over its own span.
 */
function v1toV2(file: Json): void {
  for (const step of objects(file.steps))
    for (const it of objects(step.iterations)) {
      const r = it.result as Json | undefined
      if (!r || r.workload !== 'stream' || r.type !== 'udp_stream') continue
      let total = 0
      let sentTotal = 0
      let sent = 0
      let lost = 0
      for (const s of objects(r.sessions)) {
        const gbps = typeof s.gbps === 'number' ? s.gbps : 0
        const d = typeof s.datagrams === 'number' ? s.datagrams : 0
        const l = typeof s.lostDatagrams === 'number' ? Math.min(s.lostDatagrams, d) : 0
        s.sentGbps = gbps
        s.gbps = d > 0 ? gbps * (1 - l / d) : gbps
        total += s.gbps as number
        sentTotal += gbps
        sent += d
        lost += l
      }
      r.sentGbps = sentTotal
      r.gbps = total
      r.lossPct = sent > 0 ? (100 * lost) / sent : 0
      r.receivedOver = 'server-span'
    }
}

/**
 * 2 -> 3: every rr session says which queue carried it (`queue`). Files of version 2 sampled no
 * socket, so their sessions were not attributed: method none, saying so, and no per-queue groups.
 */
function v2toV3(file: Json): void {
  for (const step of objects(file.steps))
    for (const it of objects(step.iterations)) {
      const r = it.result as Json | undefined
      if (!r || r.workload !== 'rr') continue
      for (const s of objects(r.sessions))
        s.queue = {
          method: 'none',
          queues: [],
          moved: false,
          reason: 'recorded before queue attribution (results version 2)',
          rxCpus: [],
          txCpus: [],
          samples: 0,
        }
    }
}

/**
 * Test-plan files (check vm), 1 -> 2: a case stopped by Ctrl-C/SIGTERM was a FAIL of
 * its "completed" check; it is now `interrupted`, that check N/A, so that the totals count it as
 * neither passed nor failed. The cases that never started were not recorded: `notRun` stays absent.
 */
function planV1toV2(file: Json): void {
  if (file.status !== 'interrupted') return
  // Only the last case can have been running when the plan stopped; plan.ts wrote "interrupted".
  const last = objects(file.cases).at(-1)
  if (!last || last.error !== 'interrupted') return
  last.interrupted = true
  for (const c of objects(last.checks))
    if (c.id === 'completed' && c.status === 'FAIL') {
      c.status = 'N/A'
      file.failed = (file.failed as number) - 1
      file.na = (file.na as number) + 1
    }
}

/** One kind of file's versions: the current one and, for each older one n, what makes it n + 1. */
interface VersionChain {
  what: string
  current: number
  upgrades: Record<number, (file: Json) => void>
}

const readable = (c: VersionChain) =>
  [...Object.keys(c.upgrades).map(Number), c.current].sort((a, b) => a - b)

/**
 * Brings a file of an older known version up to the chain's current one in place. Returns an
 * error text when the version is unknown (newer, or not a version at all), undefined otherwise.
 */
function upgrade(file: Json, chain: VersionChain): string | undefined {
  const version = file.version
  if (version === chain.current) return undefined
  const known = readable(chain)
  if (typeof version !== 'number' || !known.includes(version)) {
    const newer = typeof version === 'number' && version > chain.current
    return `${chain.what} version ${JSON.stringify(version)} is not known to this mqbench (it reads versions ${known.join(', ')}; the current is ${chain.current})${newer ? '; upgrade mqbench to read it' : ''}`
  }
  for (let v = version; v < chain.current; v++) chain.upgrades[v](file)
  file.version = chain.current
  return undefined
}

const RESULTS: VersionChain = {
  what: 'results schema',
  current: RESULTS_VERSION,
  upgrades: {1: v1toV2, 2: v2toV3},
}

/** The scale results versions this mqbench reads: every one with a chain of upgrades to the current one. */
export const READABLE_VERSIONS = readable(RESULTS)

/** A scale results file brought up to RESULTS_VERSION in place; the error text for an unknown version. */
export const upgradeResults = (file: Json): string | undefined => upgrade(file, RESULTS)

/** The version of the test-plan results file (docs/plan-results.schema.json) this mqbench writes. */
export const PLAN_VERSION = 2

const PLAN: VersionChain = {what: 'test-plan results', current: PLAN_VERSION, upgrades: {1: planV1toV2}}

/** A test-plan results file brought up to PLAN_VERSION in place; the error text for an unknown version. */
export const upgradePlan = (file: Json): string | undefined => upgrade(file, PLAN)
