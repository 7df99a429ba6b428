// Fedora plan, "set_link": QMP `set_link nic0 off` takes the guest NIC's carrier and operstate
// down within a bound and traffic stops (a short TCP_RR cannot connect or counts nothing);
// `set_link nic0 on` brings both up again and traffic flows. The link is set up again whatever
// happens (a case that throws leaves the shared guest up; the runner then drops it anyway).
import {setTimeout as sleep} from 'node:timers/promises'
import {runRr} from '../../../sessions/index.js'
import {GUEST_DEV, type VmBed} from '../../../testbed/vm.js'
import {guestServer} from '../rr-load.js'
import type {CaseContext, CaseOutcome, PlanCheck, TimelineEvent, VmCase} from '../types.js'

/** The guest followed set_link at once here (FACTS: ~0.02 s); a guest that takes longer FAILs. */
export const LINK_BOUND_MS = 5000
/** The short load that proves traffic stopped or flows. */
const PROBE_MS = 1000

export interface LinkState {
  carrier: string
  operstate: string
}

export async function readLink(bed: VmBed, dev = GUEST_DEV): Promise<LinkState> {
  const read = async (f: string) => {
    try {
      const r = await bed.agent.readFile(`/sys/class/net/${dev}/${f}`)
      return r.data.trim()
    } catch (err) {
      // carrier reads EINVAL while the interface is administratively down
      return `unreadable (${err instanceof Error ? err.message : String(err)})`
    }
  }
  return {carrier: await read('carrier'), operstate: await read('operstate')}
}

/** Polls the guest's link until `want` holds or the bound passes; the ms it took, or undefined. */
async function waitLink(
  bed: VmBed,
  want: (s: LinkState) => boolean,
  boundMs: number,
): Promise<{ms?: number; state: LinkState}> {
  const t0 = performance.now()
  for (;;) {
    const state = await readLink(bed)
    const ms = Math.round(performance.now() - t0)
    if (want(state)) return {ms, state}
    if (ms > boundMs) return {state}
    await sleep(20)
  }
}

/** A short TCP_RR from the host namespace into the guest: transactions, or why it failed. */
async function probe(bed: VmBed, signal: AbortSignal): Promise<{transactions: number; error?: string}> {
  const srv = await guestServer(bed, 2)
  try {
    const rr = await runRr(
      {
        server: bed.ipGuest,
        port: srv.port,
        netns: bed.ns,
        token: srv.token,
        type: 'tcp_rr',
        sessions: 2,
        requestSize: 1,
        responseSize: 1,
        durationMs: PROBE_MS,
      },
      {signal},
    )
    return {transactions: rr.sessions.reduce((s, x) => s + x.transactions, 0)}
  } catch (err) {
    if (signal.aborted) throw err
    return {transactions: 0, error: err instanceof Error ? err.message : String(err)}
  } finally {
    await srv.stop()
  }
}

const isDown = (s: LinkState) => s.carrier === '0' && s.operstate === 'down'
const isUp = (s: LinkState) => s.carrier === '1' && s.operstate === 'up'
const show = (s: LinkState) => `carrier ${s.carrier}, operstate ${s.operstate}`

function linkCheck(way: 'down' | 'up', r: {ms?: number; state: LinkState}, more: string): PlanCheck {
  return {
    id: way,
    title: `the guest's carrier and operstate go ${way} within ${LINK_BOUND_MS / 1000} s`,
    status: r.ms !== undefined ? 'PASS' : 'FAIL',
    evidence: `${show(r.state)} after ${r.ms !== undefined ? `${r.ms} ms` : `${LINK_BOUND_MS / 1000} s`}${more}`,
  }
}

/** With the link down no transaction may pass; with it up some must. */
function trafficCheck(way: 'down' | 'up', p: {transactions: number; error?: string}): PlanCheck {
  return {
    id: `${way}-traffic`,
    title: way === 'down' ? 'with the link down, traffic stops' : 'with the link up again, traffic flows',
    status: (way === 'down' ? p.transactions === 0 : p.transactions > 0) ? 'PASS' : 'FAIL',
    evidence: p.error ? `the TCP_RR failed: ${p.error}` : `${p.transactions} transactions in ${PROBE_MS} ms`,
  }
}

export interface SetLinkOptions {
  /**
   * Skip `set_link on` (a broken setup the up checks must catch; the tests use it). The link is
   * still set up when the case ends.
   */
  leaveDown?: boolean
}

export function makeSetLinkCase(o: SetLinkOptions = {}): VmCase {
  return {
    id: 'set_link',
    title: 'QMP set_link off and on: carrier, operstate and traffic follow',
    source: 'fedora',
    set: 'default',
    boundMs: () => 60_000 + 4 * LINK_BOUND_MS,
    async run(ctx: CaseContext): Promise<CaseOutcome> {
      const bed = await ctx.shared()
      const nic = 'nic0'
      const checks: PlanCheck[] = []
      const events: TimelineEvent[] = []
      const t0 = performance.now()
      const at = (label: string) => events.push({atMs: Math.round(performance.now() - t0), label})
      const before = await readLink(bed)
      let down = false
      try {
        ctx.phase(`set_link ${nic} off`)
        await bed.qmp.execute('set_link', {name: nic, up: false})
        down = true
        at('set_link off')
        const off = await waitLink(bed, isDown, LINK_BOUND_MS)
        if (off.ms !== undefined) at('guest link down')
        checks.push(linkCheck('down', off, ` (was ${show(before)})`))
        ctx.phase('a short TCP_RR with the link down')
        const dead = await probe(bed, ctx.signal)
        at('probe with the link down ended')
        checks.push(trafficCheck('down', dead))
        if (!o.leaveDown) {
          ctx.phase(`set_link ${nic} on`)
          await bed.qmp.execute('set_link', {name: nic, up: true})
          down = false
          at('set_link on')
        }
        const on = await waitLink(bed, isUp, LINK_BOUND_MS)
        if (on.ms !== undefined) at('guest link up')
        checks.push(linkCheck('up', on, ''))
        ctx.phase('a short TCP_RR with the link up')
        const live = await probe(bed, ctx.signal)
        at('probe with the link up ended')
        checks.push(trafficCheck('up', live))
        return {checks, figures: {timeline: {label: 'set_link off, then on', events}}}
      } finally {
        if (down) await bed.qmp.execute('set_link', {name: nic, up: true})
      }
    },
  }
}

export const setLinkCase = makeSetLinkCase()
