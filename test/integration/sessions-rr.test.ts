// rr against an in-process server on a veth pair between two throwaway namespaces: the client's
// native threads run in namespace A, the server's in namespace B.
import {readFileSync, readdirSync} from 'node:fs'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runRr, startServer, type ServerHandle} from '../../src/sessions/index.js'
import {decodeHistogram} from '../../src/results/histogram.js'
import {createNetPair, leftovers, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

describeNet('sessions: rr on a veth pair', () => {
  let p: NetPair
  let server: ServerHandle
  const token = 'integration-token'
  const base = () => ({
    server: p.ipB,
    port: server.port,
    netns: p.nsA,
    token,
    requestSize: 64,
    responseSize: 256,
    durationMs: 1500,
  })

  beforeAll(async () => {
    p = createNetPair(2)
    server = await startServer({netns: p.nsB, bind: p.ipB, port: 0, token})
  })
  afterAll(async () => {
    await server?.close()
    p?.close()
    expect(leftovers(p.tag)).toEqual([])
  })

  // issue 10 case 10: --interval prints the last interval too (lines on a grid, not drifting past the end)
  it('reports every interval of the run, the last one included', async () => {
    const lines: number[] = []
    await runRr(
      {...base(), type: 'tcp_rr', sessions: 2, durationMs: 2000, intervalMs: 500},
      {onInterval: ({elapsedMs}) => lines.push(elapsedMs)},
    )
    expect(lines).toHaveLength(4)
    expect(lines.at(-1)).toBeGreaterThanOrEqual(1999)
  })

  // issue 15 point 4: `mqbench server --cpus` pins each test's engine threads (one per listed CPU at
  // most), as the client's --cpus pins its threads.
  it('pins the server engine threads to --cpus and the client threads to theirs', async () => {
    const last = readdirSync('/sys/bus/cpu/devices').length - 1
    const pinned = await startServer({netns: p.nsB, bind: p.ipB, port: 0, token, cpus: [last]})
    const allowed: string[][] = []
    let result
    try {
      result = await runRr(
        {...base(), port: pinned.port, type: 'tcp_rr', sessions: 4, threads: 4, cpus: [0], intervalMs: 500},
        {
          onInterval: () => {
            allowed.push(
              readdirSync('/proc/self/task').map(
                (t) =>
                  /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/self/task/${t}/status`, 'utf8'))![1],
              ),
            )
          },
        },
      )
    } finally {
      await pinned.close()
    }
    // both ends' pinning reaches the result: the server's through its welcome (docs/protocol.md)
    expect(result.pinnedCpus).toEqual({client: [0], server: [last]})
    const seen = allowed[0]
    expect(seen.filter((c) => c === '0')).toHaveLength(last === 0 ? 5 : 4)
    if (last > 0) expect(seen.filter((c) => c === String(last))).toHaveLength(1)
  })

  it('runs 20 TCP_RR sessions that all make progress, the total being the sum of the sessions', async () => {
    const r = await runRr({...base(), type: 'tcp_rr', sessions: 20})
    expect(r.pinnedCpus).toEqual({client: [], server: []})
    expect(r.sessions).toHaveLength(20)
    for (const s of r.sessions) {
      expect(s.transactions).toBeGreaterThan(0)
      expect(s.errors).toBe(0)
      expect(s.windowMs).toBeGreaterThan(1000)
      expect(decodeHistogram(s.latencyHistogram).totalCount).toBe(s.transactions)
    }
    const sum = r.sessions.reduce((a, s) => a + s.transactionsPerSecond, 0)
    expect(r.transactionsPerSecond).toBeCloseTo(sum, 6)
    expect(r.latency.count).toBe(r.sessions.reduce((a, s) => a + s.transactions, 0))
    expect(r.latency.p99).toBeGreaterThanOrEqual(r.latency.p50)
    expect(r.remoteCpu).toBeDefined()
    expect(r.serviceDemandUsPerTx.local).toBeGreaterThan(0)
    expect(r.serviceDemandUsPerTx.remote).toBeGreaterThan(0)
    expect(r.fairness.jainIndex).toBeGreaterThan(0.05)
    expect(r.fairness.jainIndex).toBeLessThanOrEqual(1)
    // the 20 sessions spread over the threads (one per CPU by default)
    expect(new Set(r.sessions.map((s) => s.thread)).size).toBeGreaterThan(1)
  })

  it('runs a single session (its threads then block in recv instead of epoll)', async () => {
    const r = await runRr({...base(), type: 'tcp_rr', sessions: 1, durationMs: 1000})
    expect(r.sessions[0].transactions).toBeGreaterThan(0)
    expect(r.sessions[0].stalled).toBe(false)
    expect(r.transactionsPerSecond).toBe(r.sessions[0].transactionsPerSecond)
  })

  it('keeps --burst transactions in flight', async () => {
    const r = await runRr({...base(), type: 'tcp_rr', sessions: 2, burst: 8, durationMs: 1000})
    expect(r.burst).toBe(8)
    expect(r.sessions.every((s) => s.transactions > 0 && s.errors === 0)).toBe(true)
  })

  it('runs UDP_RR', async () => {
    const r = await runRr({...base(), type: 'udp_rr', sessions: 4})
    expect(r.sessions.every((s) => s.transactions > 0)).toBe(true)
    expect(r.transactionsPerSecond).toBeGreaterThan(0)
  })

  // issue 15: one UDP_RR session runs its thread's blocking path (recvmmsg + send); with --burst
  // several responses arrive per recvmmsg.
  it('runs UDP_RR alone on a thread and with a burst', async () => {
    for (const burst of [1, 4]) {
      const r = await runRr({...base(), type: 'udp_rr', sessions: 1, burst, durationMs: 1000})
      expect(r.sessions[0].transactions).toBeGreaterThan(0)
      expect(r.sessions[0].stalled).toBe(false)
      expect(r.latencyCovers).toBe('request send() to its response datagram')
    }
  })

  // issue 15: a TCP_CRR sample is socket() to close(), so one session's samples cover its window
  // but for the bookkeeping between one close() and the next socket().
  it('measures TCP_CRR latency over the whole transaction', async () => {
    const r = await runRr({...base(), type: 'tcp_crr', sessions: 1, durationMs: 1000})
    expect(r.latencyCovers).toMatch(/^socket\(\) to close\(\)/)
    const h = decodeHistogram(r.sessions[0].latencyHistogram)
    expect(h.totalCount).toBe(r.sessions[0].transactions)
    expect((h.mean * h.totalCount) / 1e6).toBeGreaterThan(0.8 * r.sessions[0].windowMs)
  })

  it('runs TCP_CRR, one connection per transaction', async () => {
    const r = await runRr({...base(), type: 'tcp_crr', sessions: 4})
    expect(r.sessions.every((s) => s.transactions > 0 && s.errors === 0)).toBe(true)
    // TCP_CRR costs a handshake per transaction: it cannot beat TCP_RR's latency
    expect(r.latency.min).toBeGreaterThan(0)
  })

  // issue 15: alone on a thread a TCP_CRR session runs on blocking calls, and the server answers at
  // accept(); requests and responses larger than one call (the server's epoll fallback) still work.
  it('runs TCP_CRR alone on a thread and with messages larger than one call', async () => {
    for (const [sessions, size] of [
      [1, 64],
      [1, 300_000],
      [3, 300_000],
    ]) {
      const r = await runRr({
        ...base(),
        type: 'tcp_crr',
        sessions,
        requestSize: size,
        responseSize: size + 1,
        durationMs: 1000,
      })
      expect(r.sessions.every((s) => s.transactions > 0 && s.errors === 0 && !s.stalled)).toBe(true)
    }
  })

  it('serves two clients at once', async () => {
    const [a, b] = await Promise.all([
      runRr({...base(), type: 'tcp_rr', sessions: 3}),
      runRr({...base(), type: 'udp_rr', sessions: 2}),
    ])
    expect(a.sessions.every((s) => s.transactions > 0)).toBe(true)
    expect(b.sessions.every((s) => s.transactions > 0)).toBe(true)
  })

  it('refuses a wrong token and sizes out of range with one clear line each', async () => {
    await expect(runRr({...base(), token: 'wrong', type: 'tcp_rr', sessions: 1})).rejects.toThrow(
      /refused the test: wrong or missing token/,
    )
    await expect(runRr({...base(), type: 'udp_rr', sessions: 1, requestSize: 70_000})).rejects.toThrow(
      /--request-size 70000: expected 1..65507/,
    )
    await expect(runRr({...base(), type: 'tcp_crr', sessions: 1, burst: 2})).rejects.toThrow(
      /--burst applies to tcp_rr and udp_rr/,
    )
  })

  it('names host and port within a few seconds when no server listens', async () => {
    const t0 = Date.now()
    await expect(
      runRr({...base(), port: server.port + 1 === 65536 ? 1 : server.port + 1, type: 'tcp_rr', sessions: 1}),
    ).rejects.toThrow(new RegExp(`${p.ipB.replace(/\./g, '\\.')}:\\d+`))
    expect(Date.now() - t0).toBeLessThan(5000)
  })
})
