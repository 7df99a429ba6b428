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

/** UPGRADES[n] turns a version n file into version n + 1. */
const UPGRADES: Record<number, (file: Json) => void> = {1: v1toV2}

/** The versions this mqbench reads: every one with a chain of upgrades to the current one. */
export const READABLE_VERSIONS = [...Object.keys(UPGRADES).map(Number), RESULTS_VERSION].sort((a, b) => a - b)

/**
 * Brings a file of an older known version up to RESULTS_VERSION in place. Returns an error text
 * when the version is unknown (newer, or not a version at all), undefined otherwise.
 */
export function upgradeResults(file: Json): string | undefined {
  const version = file.version
  if (version === RESULTS_VERSION) return undefined
  if (typeof version !== 'number' || !READABLE_VERSIONS.includes(version)) {
    const newer = typeof version === 'number' && version > RESULTS_VERSION
    return `results schema version ${JSON.stringify(version)} is not known to this mqbench (it reads versions ${READABLE_VERSIONS.join(', ')}; the current is ${RESULTS_VERSION})${newer ? '; upgrade mqbench to read it' : ''}`
  }
  for (let v = version; v < RESULTS_VERSION; v++) UPGRADES[v](file)
  file.version = RESULTS_VERSION
  return undefined
}
