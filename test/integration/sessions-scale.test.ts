// Thousands of sessions (issue 11): 5,000 TCP_RR sessions for 1 s at the server's limit, client
// as a person runs it (the CLI, its own process) against a server in the other namespace; and the
// host limits that bound a session count, refused before anything connects.
import {execFileSync} from 'node:child_process'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {decodeHistogram} from '../../src/results/histogram.js'
import type {RrResult} from '../../src/results/schema.js'
import {startServer, type ServerHandle} from '../../src/sessions/index.js'
import {RUN_JS, mqbench} from '../helpers/mqbench-cli.js'
import {createNetPair, leftovers, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const SESSIONS = 5000

describeNet('sessions: 5,000 at once', () => {
  let p: NetPair
  let server: ServerHandle
  const rr = (sessions: number, duration = '1s', type = 'tcp_rr') => [
    'rr',
    '--type',
    type,
    '--netns',
    p.nsA,
    '--server',
    p.ipB,
    '--port',
    String(server.port),
    '--sessions',
    String(sessions),
    '--duration',
    duration,
    '--json',
  ]

  beforeAll(async () => {
    p = createNetPair(2)
    server = await startServer({netns: p.nsB, bind: p.ipB, port: 0, token: 'scale', maxSessions: SESSIONS})
    process.env.MQBENCH_TOKEN = 'scale'
  })
  afterAll(async () => {
    delete process.env.MQBENCH_TOKEN
    await server?.close()
    p?.close()
    expect(leftovers(p.tag)).toEqual([])
  })

  it('runs 5,000 TCP_RR sessions: every session present, the total their sum, histograms their transactions', async () => {
    const out = await mqbench(rr(SESSIONS))
    expect(out.stderr).toBe('')
    expect(out.status).toBe(0)
    const r = JSON.parse(out.stdout) as RrResult
    expect(r.sessions.map((s) => s.id)).toEqual(Array.from({length: SESSIONS}, (_, i) => i))
    let transactions = 0
    for (const s of r.sessions) {
      expect(s.errors).toBe(0)
      expect(decodeHistogram(s.latencyHistogram).totalCount).toBe(s.transactions)
      expect(s.latency.count).toBe(s.transactions)
      transactions += s.transactions
    }
    expect(transactions).toBeGreaterThan(0)
    expect(r.transactionsPerSecond).toBeCloseTo(
      r.sessions.reduce((a, s) => a + s.transactionsPerSecond, 0),
      6,
    )
    expect(r.latency.count).toBe(transactions)
    expect(decodeHistogram(r.latencyHistogram!).totalCount).toBe(transactions)
    // The server's per-session figures came back (in chunks: 5,000 of them exceed one line).
    expect(r.remoteCpu).toBeDefined()
    expect(r.serviceDemandUsPerTx.remote).toBeGreaterThan(0)
    expect(r.connectMs).toBeGreaterThan(0)
  })

  it('sizes UDP_RR receive buffers for every request in flight: 3,000 sessions overflow none', async () => {
    // Before, 1,000 sessions on loopback lost 1.5% of their requests to the server listener's
    // default buffer. The kernel's own count of datagrams dropped for a full receive buffer, both ends.
    const rcvbufErrors = (ns: string) => {
      const udp = execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'], {encoding: 'utf8'})
        .split('\n')
        .filter((l) => l.startsWith('Udp: '))
        .map((l) => l.trim().split(/\s+/))
      return Number(udp[1][udp[0].indexOf('RcvbufErrors')])
    }
    const before = [rcvbufErrors(p.nsA), rcvbufErrors(p.nsB)]
    const out = await mqbench(rr(3000, '1s', 'udp_rr'))
    expect(out.stderr).toBe('')
    expect(out.status).toBe(0)
    expect((JSON.parse(out.stdout) as RrResult).sessions.filter((s) => s.transactions > 0)).toHaveLength(3000)
    expect([rcvbufErrors(p.nsA), rcvbufErrors(p.nsB)]).toEqual(before)
  })

  it("refuses one session beyond the server's limit with one line", async () => {
    const out = await mqbench(rr(SESSIONS + 1))
    expect(out.status).toBe(3)
    expect(out.stderr).toMatch(/5001 sessions exceed the server's limit of 5000/)
    expect(out.stdout).toBe('')
  })

  it('refuses a session count the open-file limit cannot hold, naming RLIMIT_NOFILE', () => {
    let err: {status: number; stderr: Buffer} | undefined
    try {
      execFileSync(
        'sh',
        ['-c', `ulimit -n 1024 && exec "${process.execPath}" "${RUN_JS}" "$@"`, 'sh', ...rr(2000)],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
    } catch (e) {
      err = e as typeof err
    }
    expect(err?.status).toBe(3)
    expect(err?.stderr.toString()).toMatch(
      /2000 sessions need about 2064 more open files, but RLIMIT_NOFILE allows 1024 .* are open/,
    )
  })

  // The namespace's own sysctls (they go away with the namespace; restored anyway for later tests).
  const sysctl = (...args: string[]) =>
    execFileSync('ip', ['netns', 'exec', p.nsA, 'sysctl', ...args], {encoding: 'utf8'}).trim()

  it('takes local ports from the range, skipping reserved ones and those another client holds', async () => {
    // Two clients at once, 900 sessions each, in a range of 2,000 ports of which 100 are reserved:
    // each walks the range from its own random start (native LocalPorts), so they meet and must step
    // over each other's ports.
    const range = sysctl('-n', 'net.ipv4.ip_local_port_range').replace(/\s+/, ' ')
    const reserved = sysctl('-n', 'net.ipv4.ip_local_reserved_ports')
    sysctl(
      '-q',
      '-w',
      'net.ipv4.ip_local_port_range=40000 41999',
      'net.ipv4.ip_local_reserved_ports=40100-40199',
    )
    try {
      const seen = new Set<number>()
      let running = true
      const watch = (async () => {
        while (running) {
          const ss = execFileSync('ip', ['netns', 'exec', p.nsA, 'ss', '-Htn', 'state', 'established'], {
            encoding: 'utf8',
          })
          for (const m of ss.matchAll(/\S+:(\d+)\s+\S+:(\d+)\s*$/gm))
            if (Number(m[2]) !== server.port) seen.add(Number(m[1])) // not the control connections
          await new Promise((r) => setTimeout(r, 100))
        }
      })()
      const runs = await Promise.all([mqbench(rr(900, '2s')), mqbench(rr(900, '2s'))])
      running = false
      await watch
      for (const out of runs) {
        expect(out.stderr).toBe('')
        expect(out.status).toBe(0)
        expect((JSON.parse(out.stdout) as RrResult).sessions.filter((s) => s.transactions > 0)).toHaveLength(
          900,
        )
      }
      const ports = [...seen]
      expect(ports.length).toBe(1800)
      expect(ports.filter((q) => q < 40000 || q > 41999 || (q >= 40100 && q <= 40199))).toEqual([])
    } finally {
      sysctl(
        '-q',
        '-w',
        `net.ipv4.ip_local_port_range=${range}`,
        `net.ipv4.ip_local_reserved_ports=${reserved}`,
      )
    }
  })

  it('refuses more sessions than the local port range offers towards one server address', async () => {
    const range = sysctl('-n', 'net.ipv4.ip_local_port_range').replace(/\s+/, ' ')
    sysctl('-q', '-w', 'net.ipv4.ip_local_port_range=40000 40999')
    try {
      const out = await mqbench(rr(1001))
      expect(out.status).toBe(3)
      expect(out.stderr).toMatch(
        /1001 sessions need as many local ports .* \(40000-40999 in mqb-.*\) offers 1000/,
      )
    } finally {
      sysctl('-q', '-w', `net.ipv4.ip_local_port_range=${range}`)
    }
  })
})
