// The guest agent's C++ session server (server_start) driven by the unchanged TypeScript client:
// the agent runs in namespace B over --stdio, as it runs in a guest, and `mqbench rr` / the
// library's runRr and runStream run in namespace A across a veth. Hostile control traffic first
// meets the C++ server, which must keep serving afterwards.
import {spawnSync} from 'node:child_process'
import {Socket} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {sessions as nativeSessions} from '../../src/native.js'
import {runRr, runStream} from '../../src/sessions/index.js'
import {StdioAgent} from '../helpers/agent.js'
import {createNetPair, leftovers, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const bin = join(import.meta.dirname, '../../bin/run.js')
const token = 'agent-server-token'

describeNet('agent: the C++ session server against mqbench rr/stream', () => {
  let p: NetPair
  let agent: StdioAgent
  let port: number

  beforeAll(async () => {
    p = createNetPair(2)
    agent = new StdioAgent(['ip', 'netns', 'exec', p.nsB])
    const r = await agent.call('server_start', {bind: p.ipB, port: 0, token, maxSessions: 100})
    expect(r.address).toBe(p.ipB)
    port = r.port as number
  })

  afterAll(async () => {
    if (agent) {
      await agent.call('server_stop').catch(() => {})
      expect(await agent.close()).toBe(0)
    }
    p?.close()
    expect(leftovers(p.tag)).toEqual([])
  })

  const base = () => ({server: p.ipB, port, netns: p.nsA, token, durationMs: 1500})

  it('serves `mqbench rr` with 20 TCP_RR sessions, every one making progress', () => {
    const r = spawnSync(
      process.execPath,
      [bin, 'rr', '--netns', p.nsA, '--server', p.ipB, '--port', String(port), '--sessions', '20'].concat([
        '--duration',
        '2s',
        '--json',
      ]),
      {encoding: 'utf8', env: {...process.env, MQBENCH_TOKEN: token}, timeout: 60_000},
    )
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as {
      sessions: Array<{transactions: number; errors: number}>
      remoteCpu?: {cpus: number}
      serviceDemandUsPerTx: {remote?: number}
      pinnedCpus?: {client: number[]; server?: number[]}
    }
    expect(out.sessions).toHaveLength(20)
    expect(out.sessions.every((s) => s.transactions > 0 && s.errors === 0)).toBe(true)
    // the C++ server's result: its CPU window and per-session figures reached the client
    expect(out.remoteCpu?.cpus).toBeGreaterThan(0)
    expect(out.serviceDemandUsPerTx.remote).toBeGreaterThan(0)
    // its welcome said its threads are not pinned
    expect(out.pinnedCpus).toEqual({client: [], server: []})
  })

  it('serves UDP_RR and TCP_CRR', async () => {
    for (const type of ['udp_rr', 'tcp_crr'] as const) {
      const r = await runRr({...base(), type, sessions: 4, requestSize: 64, responseSize: 256})
      expect(r.sessions.every((s) => s.transactions > 0)).toBe(true)
    }
  })

  it('serves two tests at once', async () => {
    const rr = (sessions: number) =>
      runRr({...base(), type: 'tcp_rr', sessions, requestSize: 1, responseSize: 1, durationMs: 1000})
    const [a, b] = await Promise.all([rr(3), rr(5)])
    expect(a.sessions.every((s) => s.transactions > 0)).toBe(true)
    expect(b.sessions.every((s) => s.transactions > 0)).toBe(true)
    expect(a.server.port).toBe(port)
  })

  it('serves TCP_STREAM both ways and UDP_STREAM', async () => {
    const bidir = await runStream({
      ...base(),
      type: 'tcp_stream',
      bidir: true,
      sessions: 2,
      messageSize: 16384,
    })
    expect(bidir.sessions).toHaveLength(4)
    expect(bidir.sessions.every((s) => s.bytes > 0)).toBe(true)
    const udp = await runStream({...base(), type: 'udp_stream', sessions: 2, messageSize: 1400})
    expect(udp.sessions.every((s) => s.bytes > 0)).toBe(true)
  })

  it('refuses a wrong token and hostile lines with a reason, and keeps serving', async () => {
    const talk = async (payload: string) => {
      const fd = await nativeSessions.connect({netns: p.nsA, host: p.ipB, port, timeoutMs: 3000})
      const sock = new Socket({fd, readable: true, writable: true})
      return new Promise<string>((resolve) => {
        let got = ''
        const t = setTimeout(() => (sock.destroy(), resolve(got)), 8000)
        sock.on('data', (d) => (got += d.toString()))
        sock.on('error', () => {})
        sock.on('close', () => (clearTimeout(t), resolve(got)))
        sock.write(payload)
      })
    }
    const hello = JSON.stringify({type: 'hello', version: 2, token: 'wrong'}) + '\n'
    expect(await talk(hello)).toContain('wrong or missing token')
    let seed = 7
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
    const junk = (n: number) =>
      Array.from({length: n}, () => String.fromCharCode(Math.floor(rnd() * 256))).join('')
    const cases = [
      junk(300) + '\n',
      '['.repeat(5000) + ']'.repeat(5000) + '\n',
      'x'.repeat(70_000),
      JSON.stringify({type: 'test'}) + '\n',
      JSON.stringify({type: 'hello', version: 99, token}) + '\n',
    ]
    for (let i = 0; i < 60; i++) {
      const answer = await talk(cases[i % cases.length])
      expect(answer).toMatch(/^\{"type":"error","reason":"[^\n]+"\}\n$/)
    }
    expect(agent.stderr).toContain('closing control connection: wrong or missing token')
    const r = await runRr({
      ...base(),
      type: 'tcp_rr',
      sessions: 2,
      durationMs: 1000,
      requestSize: 1,
      responseSize: 1,
    })
    expect(r.sessions.every((s) => s.transactions > 0)).toBe(true)
  })

  it('stops on server_stop (the port then refuses) and starts again', async () => {
    expect(await agent.call('server_stop')).toMatchObject({stopped: true})
    await expect(nativeSessions.connect({netns: p.nsA, host: p.ipB, port, timeoutMs: 2000})).rejects.toThrow()
    expect(await agent.call('server_stop')).toMatchObject({stopped: false})
    const again = await agent.call('server_start', {bind: p.ipB, port, token})
    expect(again.port).toBe(port)
    expect((await agent.request('server_start', {bind: p.ipB, port, token})).error).toMatch(/already running/)
    expect((await agent.request('server_start', {bind: '0.0.0.0'})).error).toMatch(/needs a token/)
  })
})
