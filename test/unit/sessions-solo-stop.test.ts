// A TCP_CRR session alone on its thread runs on blocking calls with no timeout of their own (issue
// 15: the reference floor's socket, connect, send, recv, close). A server that accepts and then never
// answers must not keep that thread past the run: stop() shuts the blocked socket down. Played on
// loopback against a hand-made server that speaks the control protocol and holds every data
// connection without a word.
import {createServer, type Server, type Socket} from 'node:net'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {encodeMessage, LineReader, PROTOCOL_VERSION, SERVER_CAPS} from '../../src/sessions/protocol.js'
import {runRr} from '../../src/sessions/rr.js'

const cpu = {userPct: 0, sysPct: 0, softirqPct: 0, irqPct: 0, totalPct: 0, cpus: 1}
let data: Server
let control: Server
const held: Socket[] = []
let accepted = 0

const listen = (s: Server) =>
  new Promise<number>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as {port: number}).port)),
  )

beforeAll(async () => {
  data = createServer((s) => {
    accepted++
    held.push(s) // read the request, answer nothing
    s.on('error', () => {})
  })
  const dataPort = await listen(data)
  control = createServer((s) => {
    s.on('error', () => {})
    const reader = new LineReader(
      (line) => {
        const m = JSON.parse(line) as {type: string; sessions?: number}
        if (m.type === 'hello')
          s.write(
            encodeMessage({
              type: 'welcome',
              version: PROTOCOL_VERSION,
              caps: [...SERVER_CAPS],
              limits: {maxSessions: 10, maxDurationMs: 60_000},
              cpus: [],
            }),
          )
        else if (m.type === 'chunk') s.write(encodeMessage({type: 'ready', port: dataPort, cookie: 1}))
        else if (m.type === 'done')
          s.end(
            encodeMessage({
              type: 'result',
              cpu,
              busyMs: 0,
              processUs: {user: 0, sys: 0},
              sessions: [{ops: 0, datagrams: 0, retransmits: 0}],
            }),
          )
      },
      () => s.destroy(),
    )
    s.on('data', (d) => reader.push(d))
  })
  await listen(control)
})

afterAll(async () => {
  for (const s of held) s.destroy()
  await new Promise((r) => data.close(r))
  await new Promise((r) => control.close(r))
})

it('ends a solo TCP_CRR run whose server never answers, with the session stalled', async () => {
  const r = await runRr({
    server: '127.0.0.1',
    port: (control.address() as {port: number}).port,
    type: 'tcp_crr',
    sessions: 1,
    requestSize: 64,
    responseSize: 64,
    durationMs: 500,
  })
  expect(accepted).toBe(1) // one connection, its thread blocked in recv() until the end
  expect(r.sessions[0].transactions).toBe(0)
  expect(r.sessions[0].errors).toBe(0) // ended by stop(), not failed
  expect(r.sessions[0].stalled).toBe(true)
  expect(r.pinnedCpus).toEqual({client: [], server: []})
}, 15_000)
