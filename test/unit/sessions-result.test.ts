import {describe, expect, it} from 'vitest'
import {sessions as nativeSessions, type NativeSessionResult} from '../../src/native.js'
import {decodeHistogram} from '../../src/results/histogram.js'
import {sessionPinning} from '../../src/sessions/client.js'
import {rrResult} from '../../src/sessions/rr.js'
import {streamDirections, streamResult} from '../../src/sessions/stream.js'

const cpu = {userPct: 10, sysPct: 20, softirqPct: 5, irqPct: 0, totalPct: 35, cpus: 2}
const native = (o: Partial<NativeSessionResult>): NativeSessionResult => ({
  thread: 0,
  cpu: -1,
  ops: 0,
  windowOps: 0,
  windowNs: 1e9,
  errors: 0,
  datagrams: 0,
  maxGapNs: 1e6,
  retransmits: 0,
  connected: true,
  dead: false,
  ...o,
})
// Histograms as the native engine reports them: each session's, and the merged total.
const latencies = nativeSessions.histograms([
  new Float64Array(1000).fill(50_000),
  new Float64Array(3000).fill(20_000),
  new Float64Array(500).fill(100_000),
])
const hist = (i: number) => latencies.sessions[i]
const opts = {
  server: '127.0.0.1',
  port: 1,
  type: 'tcp_rr' as const,
  sessions: 3,
  requestSize: 1,
  responseSize: 1,
  durationMs: 1000,
}

describe('rr results', () => {
  const run = {
    host: '127.0.0.1',
    elapsedMs: 1000,
    local: {utilisation: cpu, busyMs: 700},
    remote: {
      type: 'result' as const,
      cpu,
      busyMs: 600,
      processUs: {user: 0, sys: 0},
      sessions: [
        {ops: 3000, datagrams: 0, retransmits: 0},
        {ops: 3000, datagrams: 0, retransmits: 0},
      ],
    },
    sessions: [
      native({windowOps: 1000, windowNs: 1e9, ...hist(0)}),
      native({windowOps: 3000, windowNs: 1e9, thread: 1, ...hist(1)}),
      native({windowOps: 500, windowNs: 0.5e9, maxGapNs: 1.5e9, ...hist(2)}),
    ],
    total: latencies,
  }

  it('derives the total from the sessions over the same window', () => {
    const r = rrResult(opts, run)
    expect(r.sessions.map((s) => s.transactionsPerSecond)).toEqual([1000, 3000, 1000])
    expect(r.transactionsPerSecond).toBe(r.sessions.reduce((s, x) => s + x.transactionsPerSecond, 0))
    expect(r.latency.count).toBe(r.sessions.reduce((s, x) => s + x.transactions, 0))
    expect(decodeHistogram(r.latencyHistogram!).totalCount).toBe(r.latency.count)
    expect(r.fairness.slowestTps).toBe(1000)
    expect(r.fairness.fastestTps).toBe(3000)
  })

  it('flags stalled sessions and keeps each histogram', () => {
    const r = rrResult(opts, run)
    expect(r.sessions.map((s) => s.stalled)).toEqual([false, false, true])
    expect(decodeHistogram(r.sessions[1].latencyHistogram).totalCount).toBe(3000)
    expect(r.sessions[1].latency.p50).toBeCloseTo(20, 0)
  })

  it('computes service demand on both sides', () => {
    const r = rrResult(opts, run)
    expect(r.serviceDemandUsPerTx.local).toBeCloseTo((700 * 1000) / 5000)
    expect(r.serviceDemandUsPerTx.remote).toBeCloseTo((600 * 1000) / 6000)
    expect(rrResult(opts, {...run, remote: undefined}).serviceDemandUsPerTx.remote).toBeUndefined()
  })
})

describe("both ends' pinning (issue 15)", () => {
  it("records the client's --cpus and what the server's welcome said", () => {
    expect(sessionPinning([0], {cpus: [1]})).toEqual({client: [0], server: [1]})
    expect(sessionPinning(undefined, {cpus: []})).toEqual({client: [], server: []})
  })
  it('leaves the server out when an older server said nothing: unknown, not unpinned', () => {
    expect(sessionPinning([1, 0], {})).toEqual({client: [1, 0]})
  })
  it('writes the pinning into rr and stream results', () => {
    const pinnedCpus = {client: [0], server: [1]}
    const r = rrResult(opts, {
      host: '127.0.0.1',
      elapsedMs: 1000,
      local: {utilisation: cpu, busyMs: 10},
      sessions: [native({windowOps: 10})],
      pinnedCpus,
    })
    expect(r.pinnedCpus).toEqual(pinnedCpus)
    const s = streamResult(
      {server: '127.0.0.1', port: 1, type: 'tcp_stream', sessions: 1, messageSize: 1000, durationMs: 1000},
      {
        host: '127.0.0.1',
        elapsedMs: 1000,
        local: {utilisation: cpu, busyMs: 10},
        sessions: [native({})],
        pinnedCpus,
      },
    )
    expect(s.pinnedCpus).toEqual(pinnedCpus)
  })
})

describe('stream results', () => {
  it('sends both ways with --bidir', () => {
    expect(streamDirections({type: 'tcp_stream', bidir: true, sessions: 2})).toEqual([1, 1, 0, 0])
    expect(streamDirections({type: 'tcp_maerts', sessions: 2})).toEqual([0, 0])
  })

  // issue 10 case 6: UDP_STREAM headlines what arrived, both ends counting over the client's window
  it('headlines the UDP rate received over the shared window, with sent and loss beside it', () => {
    const o = {
      server: '127.0.0.1',
      port: 1,
      type: 'udp_stream' as const,
      sessions: 2,
      messageSize: 1000,
      durationMs: 1000,
    }
    const run = (server: Array<{ops: number; datagrams: number; retransmits: number; windowOps?: number}>) =>
      streamResult(o, {
        host: '127.0.0.1',
        elapsedMs: 1000,
        local: {utilisation: cpu, busyMs: 500},
        remote: {type: 'result', cpu, busyMs: 400, processUs: {user: 0, sys: 0}, sessions: server},
        // 1 s windows: 125,000 and 62,500 datagrams of 1000 bytes sent (1 and 0.5 Gbit/s)
        sessions: [
          native({windowOps: 125_000_000, datagrams: 130_000}),
          native({windowOps: 62_500_000, datagrams: 65_000}),
        ],
      })
    // 70% lost on session 0: the server counted 30% of what was sent in the window
    const r = run([
      {ops: 40_000_000, datagrams: 40_000, retransmits: 0, windowOps: 37_500_000},
      {ops: 65_000_000, datagrams: 65_000, retransmits: 0, windowOps: 62_500_000},
    ])
    expect(r.sessions.map((s) => s.gbps)).toEqual([0.3, 0.5])
    expect(r.sessions.map((s) => s.sentGbps)).toEqual([1, 0.5])
    expect(r.sessions.map((s) => s.datagrams)).toEqual([125_000, 62_500])
    expect(r.sessions.map((s) => s.lostDatagrams)).toEqual([87_500, 0])
    expect(r.gbps).toBeCloseTo(0.8, 12)
    expect(r.sentGbps).toBe(1.5)
    expect(r.lossPct).toBeCloseTo((100 * 87_500) / 187_500, 9)
    expect(r.receivedOver).toBe('window')
    // a server without cap "window" gives totals over its own span: used, capped at what was sent, and said
    const old = run([
      {ops: 40_000_000, datagrams: 40_000, retransmits: 0},
      {ops: 65_000_000, datagrams: 65_000, retransmits: 0},
    ])
    expect(old.sessions.map((s) => s.gbps)).toEqual([0.32, 0.5])
    expect(old.receivedOver).toBe('server-span')
  })
})
