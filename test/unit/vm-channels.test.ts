// The host ends of QMP and of the agent channel against scripted peers on unix sockets.
import {mkdtempSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {AgentClient, AgentError} from '../../src/vm/agent-client.js'
import {encodeFrame, FrameDecoder, LineDecoder} from '../../src/vm/framing.js'
import {QmpClient, QmpError} from '../../src/vm/qmp.js'

const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

function listen(onConn: (s: Socket) => void): {path: string; server: Server} {
  const path = join(mkdtempSync(join(tmpdir(), 'mqb-vm-')), 's.sock')
  const server = createServer(onConn)
  server.listen(path)
  servers.push(server)
  return {path, server}
}

describe('QMP framing', () => {
  it('splits lines across chunks and flags lines that are not JSON objects', () => {
    const d = new LineDecoder()
    expect(d.push('{"return": {}, "id"')).toEqual([])
    const out = d.push(': "a"}\r\n[1]\nnope\n{"event": "STOP"}\n')
    expect(out[0]).toEqual({return: {}, id: 'a'})
    expect(out[1]).toBeInstanceOf(Error)
    expect(out[2]).toBeInstanceOf(Error)
    expect(out[3]).toEqual({event: 'STOP'})
  })
})

describe('agent framing', () => {
  it('reassembles frames split anywhere', () => {
    const bytes = Buffer.concat([encodeFrame({v: 1, id: 1, ok: true}), encodeFrame({v: 1, id: 2, ok: false})])
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder()
      const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))]
      expect(got).toEqual([
        {v: 1, id: 1, ok: true},
        {v: 1, id: 2, ok: false},
      ])
    }
  })

  it('skips an over-long frame without losing sync, and flags non-objects', () => {
    const d = new FrameDecoder(16)
    const big = Buffer.alloc(4 + 40, 0x61)
    big.writeUInt32BE(40)
    const arr = Buffer.from('[1]')
    const arrFrame = Buffer.concat([Buffer.from([0, 0, 0, arr.length]), arr])
    const out = [
      ...d.push(big.subarray(0, 10)),
      ...d.push(Buffer.concat([big.subarray(10), arrFrame, encodeFrame({id: 3})])),
    ]
    expect(out).toHaveLength(3)
    expect(String(out[0])).toMatch(/40 bytes exceeds the 16-byte limit/)
    expect(String(out[1])).toMatch(/not a JSON object/)
    expect(out[2]).toEqual({id: 3})
  })

  it('refuses to encode a message over 1 MiB', () => {
    expect(() => encodeFrame({data: 'x'.repeat(1 << 20)})).toThrow(/frame limit/)
  })
})

describe('QMP client', () => {
  it('negotiates capabilities, runs commands by id and passes events', async () => {
    const seen: string[] = []
    const {path} = listen((s) => {
      const d = new LineDecoder()
      s.write('{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}}, "capabilities": []}}\r\n')
      s.on('data', (c) => {
        for (const m of d.push(c)) {
          const msg = m as {execute: string; id: string}
          seen.push(msg.execute)
          if (msg.execute === 'qmp_capabilities') s.write(`{"return": {}, "id": "${msg.id}"}\r\n`)
          if (msg.execute === 'query-status') {
            s.write('{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"}\r\n')
            s.write(`{"return": {"status": "running"}, "id": "${msg.id}"}\r\n`)
          }
          if (msg.execute === 'bad')
            s.write(
              `{"error": {"class": "CommandNotFound", "desc": "The command bad has not been found"}, "id": "${msg.id}"}\r\n`,
            )
        }
      })
    })
    const q = await QmpClient.connect(path, {timeoutMs: 2000})
    expect(q.version).toBe('7.2.22')
    const ev = q.waitEvent('RESUME', 2000)
    expect(await q.execute('query-status')).toEqual({status: 'running'})
    expect((await ev).timestamp).toEqual({seconds: 1, microseconds: 2})
    await expect(q.execute('bad')).rejects.toBeInstanceOf(QmpError)
    await expect(q.execute('never', undefined, 100)).rejects.toThrow(/no answer from qemu within 100 ms/)
    expect(seen).toEqual(['qmp_capabilities', 'query-status', 'bad', 'never'])
    q.close()
  })
})

/** A scripted agent: answers by `reply`, may drop requests, may hang up. */
function fakeAgent(reply: (req: Record<string, unknown>, conn: number, s: Socket) => void) {
  let conns = 0
  const requests: Array<Record<string, unknown>> = []
  const {path} = listen((s) => {
    const conn = ++conns
    const d = new FrameDecoder()
    s.on('data', (c) => {
      for (const m of d.push(c)) {
        if (m instanceof Error) continue
        requests.push(m)
        reply(m, conn, s)
      }
    })
  })
  return {path, requests}
}

const answer = (s: Socket, req: Record<string, unknown>, result: Record<string, unknown>) =>
  s.write(encodeFrame({v: 1, id: req.id, ok: true, result}))

describe('agent client', () => {
  it('matches out-of-order answers by id', async () => {
    const held: Array<[Socket, Record<string, unknown>]> = []
    const a = fakeAgent((req, _c, s) => {
      held.push([s, req])
      if (held.length === 2) for (const [sock, r] of held.reverse()) answer(sock, r, {op: r.op})
    })
    const c = new AgentClient(a.path)
    const [x, y] = await Promise.all([c.request('read_file'), c.request('list_dir')])
    expect([x, y]).toEqual([{op: 'read_file'}, {op: 'list_dir'}])
    expect(a.requests.map((r) => r.v)).toEqual([1, 1])
    c.close()
  })

  it('asks again with the same id after a lost answer', async () => {
    let n = 0
    const a = fakeAgent((req, _c, s) => {
      if (n++ > 0) answer(s, req, {n})
    })
    const c = new AgentClient(a.path)
    expect(await c.request('hello', {}, {timeoutMs: 100, retries: 2})).toEqual({n: 2})
    expect(a.requests.map((r) => r.id)).toEqual([1, 1])
    c.close()
  })

  it('reconnects when the channel drops and resends what was in flight', async () => {
    const a = fakeAgent((req, conn, s) => {
      if (conn === 1) s.destroy()
      else answer(s, req, {conn})
    })
    const c = new AgentClient(a.path)
    expect(await c.request('channels_get', {dev: 'eth0'}, {timeoutMs: 2000, retries: 0})).toEqual({conn: 2})
    expect(c.connections).toBe(2)
    c.close()
  })

  it('moves to the destination after a migration: a request in flight runs once and is answered once', async () => {
    // One guest seen through two qemus: what the agent ran and its answer cache travel with it.
    const ran = new Map<number, Record<string, unknown>>()
    let runs = 0
    const held: Array<[Socket, Record<string, unknown>]> = []
    const raw: Buffer[] = []
    const src = fakeAgent((req, _c, s) => {
      runs++
      ran.set(req.id as number, {ran: runs})
      held.push([s, req]) // the guest stopped: the answer never leaves the source
    })
    const dst = fakeAgent((req, _c, s) => {
      raw.push(encodeFrame(req))
      const cached = ran.get(req.id as number)
      if (cached) answer(s, req, {...cached, cached: true})
      else {
        runs++
        ran.set(req.id as number, {ran: runs})
        answer(s, req, {ran: runs})
      }
    })
    const c = new AgentClient(src.path)
    const inFlight = c.request(
      'exec',
      {argv: ['sh', '-c', 'echo x >> /tmp/once']},
      {timeoutMs: 5000, retries: 0},
    )
    let settled = 0
    void inFlight.finally(() => settled++)
    while (src.requests.length === 0) await sleep(5)
    c.retarget(dst.path)
    expect(c.path).toBe(dst.path)
    // The source's late answer, after the switch-over, is never read.
    for (const [s, r] of held) {
      s.on('error', () => {})
      answer(s, r, {late: true})
    }
    expect(await inFlight).toEqual({ran: 1, cached: true})
    expect(runs).toBe(1)
    expect(dst.requests.map((r) => [r.id, r.op])).toEqual([[src.requests[0].id, 'exec']])
    expect(raw[0]).toEqual(encodeFrame(src.requests[0]))
    // New requests go to the destination with new ids.
    expect(await c.request('hello')).toEqual({ran: 2})
    expect(dst.requests.map((r) => r.id)).toEqual([1, 2])
    await sleep(20)
    expect(settled).toBe(1)
    expect(c.connections).toBe(2)
    c.close()
  })

  it('retargets with nothing in flight: the next request connects to the new socket', async () => {
    const a = fakeAgent((req, _c, s) => answer(s, req, {at: 'a'}))
    const b = fakeAgent((req, _c, s) => answer(s, req, {at: 'b'}))
    const c = new AgentClient(a.path)
    expect(await c.request('hello')).toEqual({at: 'a'})
    c.retarget(b.path)
    expect(await c.request('hello')).toEqual({at: 'b'})
    expect([a.requests.length, b.requests.length]).toEqual([1, 1])
    c.close()
  })

  it('passes the agent error and errno on without retrying', async () => {
    const a = fakeAgent((req, _c, s) =>
      s.write(
        encodeFrame({v: 1, id: req.id, ok: false, error: 'channels_set eth0: Invalid argument', errno: 22}),
      ),
    )
    const c = new AgentClient(a.path)
    const err = (await c.request('channels_set', {dev: 'eth0', combined: 9}).catch((e) => e)) as AgentError
    expect(err).toBeInstanceOf(AgentError)
    expect(err.errno).toBe(22)
    expect(err.message).toBe('guest agent channels_set: channels_set eth0: Invalid argument')
    expect(a.requests).toHaveLength(1)
    c.close()
  })

  it('gives up after its retries with a one-line reason', async () => {
    const a = fakeAgent(() => {})
    const c = new AgentClient(a.path)
    await expect(c.request('hello', {}, {timeoutMs: 50, retries: 1})).rejects.toThrow(
      /guest agent hello: no answer after 2 attempts/,
    )
    c.close()
  })
})
