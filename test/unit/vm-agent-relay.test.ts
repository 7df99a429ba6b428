// The agent relay a vm testbed's holder serves to other processes, against a scripted agent: the
// answers and the agent's errors come through with the client's ids, a client's retry of a request
// still running joins it, bad frames are answered, and close removes the socket.
import {existsSync, mkdtempSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {defaultVmFlows, FLOWS_PER_GUEST_QUEUE} from '../../src/gen/vm.js'
import {CleanupRegistry} from '../../src/host/cleanup.js'
import {AgentClient, AgentError} from '../../src/vm/agent-client.js'
import {agentRelayPath, serveAgentRelay} from '../../src/vm/agent-relay.js'
import {encodeFrame, FrameDecoder} from '../../src/vm/framing.js'

const registry = new CleanupRegistry()
afterEach(() => registry.runAll())

/** A scripted holder-side agent: records each call, answers from `answer`. */
function scripted(answer: (op: string, args: Record<string, unknown>) => Promise<unknown>) {
  const calls: Array<{op: string; args: Record<string, unknown>}> = []
  return {
    calls,
    request: async <T>(op: string, args: Record<string, unknown> = {}): Promise<T> => {
      calls.push({op, args})
      return (await answer(op, args)) as T
    },
  }
}

const relayDir = () => mkdtempSync(join(tmpdir(), 'mqb-relay-'))

describe('agent relay', () => {
  it('forwards requests and answers, and the agent errors with their errno', async () => {
    const agent = scripted(async (op, args) => {
      if (op === 'channels_get') return {combined: 2, dev: args.dev}
      throw new AgentError(op, 'no such device', 19)
    })
    const path = agentRelayPath(relayDir())
    const relay = await serveAgentRelay(agent, path, registry)
    const client = new AgentClient(path, {connectTimeoutMs: 2000})
    try {
      expect(await client.request('channels_get', {dev: 'eth0'})).toEqual({combined: 2, dev: 'eth0'})
      const err = await client.request('rx_start', {dev: 'nosuch'}).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(AgentError)
      expect(err).toMatchObject({answered: true, errno: 19, message: 'guest agent rx_start: no such device'})
      expect(agent.calls).toEqual([
        {op: 'channels_get', args: {dev: 'eth0'}},
        {op: 'rx_start', args: {dev: 'nosuch'}},
      ])
    } finally {
      client.close()
      relay.close()
    }
    expect(existsSync(path)).toBe(false)
  })

  it("joins a client's retry of a request that is still running instead of running it twice", async () => {
    let release!: () => void
    const agent = scripted(() => new Promise((r) => (release = () => r({stopped: true}))))
    const path = agentRelayPath(relayDir())
    await serveAgentRelay(agent, path, registry)
    const sock = connect(path)
    await new Promise((r) => sock.once('connect', r))
    const decoder = new FrameDecoder()
    const got: Array<Record<string, unknown>> = []
    sock.on('data', (d) => got.push(...(decoder.push(d) as Array<Record<string, unknown>>)))
    const frame = encodeFrame({v: 1, id: 7, op: 'gen_stop', wait: true})
    sock.write(frame)
    sock.write(frame)
    sock.write(encodeFrame({v: 2, id: 8, op: 'hello'}))
    sock.write(encodeFrame({v: 1, op: 'hello'}))
    for (let i = 0; i < 100 && agent.calls.length < 1; i++) await new Promise((r) => setTimeout(r, 10))
    release()
    for (let i = 0; i < 100 && got.length < 4; i++) await new Promise((r) => setTimeout(r, 10))
    sock.destroy()
    expect(agent.calls).toEqual([{op: 'gen_stop', args: {wait: true}}])
    expect(got.filter((m) => m.id === 7)).toEqual([
      {v: 1, id: 7, ok: true, result: {stopped: true}},
      {v: 1, id: 7, ok: true, result: {stopped: true}},
    ])
    expect(got.find((m) => m.id === 8)).toMatchObject({ok: false, error: 'protocol version 2 is not 1'})
    expect(got.find((m) => m.id === 0)).toMatchObject({
      ok: false,
      error: 'a request needs a numeric id and an op',
    })
  })

  it('is removed by the cleanup registry (Ctrl-C, an error) as well', async () => {
    const path = agentRelayPath(relayDir())
    await serveAgentRelay(
      scripted(async () => ({})),
      path,
      registry,
    )
    expect(existsSync(path)).toBe(true)
    registry.runAll()
    expect(existsSync(path)).toBe(false)
  })
})

describe('vm gen flows', () => {
  it(`gives every guest queue at least ${FLOWS_PER_GUEST_QUEUE} flows, spread over the senders`, () => {
    expect(defaultVmFlows(1, 1)).toBe(16)
    expect(defaultVmFlows(2, 2)).toBe(16)
    expect(defaultVmFlows(1, 4)).toBe(64)
    expect(defaultVmFlows(4, 2)).toBe(8)
    expect(defaultVmFlows(3, 2)).toBe(11)
  })
})
