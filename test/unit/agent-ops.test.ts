// The typed face of the guest agent (src/vm/agent-ops.ts) against the agent itself: the static
// agent binary of build/Release over --stdio, reached through the same AgentClient a guest's
// virtio-serial socket or a far host's ssh uses. Its own list of ops (`hello`) must be the facade's,
// and each facade method must send its own op.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {agentBinary} from '../../src/native.js'
import {AgentClient, AgentError, processChannel} from '../../src/vm/agent-client.js'
import {Agent, AGENT_OP_METHODS, type AgentOp} from '../../src/vm/agent-ops.js'

let agent: AgentClient
let dir: string

beforeAll(() => {
  agent = new AgentClient('stdio', {open: processChannel([agentBinary(), '--stdio'])})
  dir = mkdtempSync(join(tmpdir(), 'mqb-agent-ops-'))
})

afterAll(() => {
  agent.close()
  rmSync(dir, {recursive: true, force: true})
})

/** The ops a facade sends, in order, over a channel that records them and answers nothing useful. */
function recording(): {ops: string[]; facade: Agent} {
  const ops: string[] = []
  const facade = new Agent({
    request: <T>(op: string) => {
      ops.push(op)
      return Promise.resolve({} as T)
    },
  })
  return {ops, facade}
}

describe('the agent facade', () => {
  it("has one method for each op the agent's hello lists, and no other", async () => {
    const hello = await agent.hello()
    expect(hello).toMatchObject({agent: 'mqbench-agent', protocol: 1, cpus: availableParallelism()})
    expect([...hello.ops].sort()).toEqual(Object.keys(AGENT_OP_METHODS).sort())
  })

  it('sends each op from its own method', async () => {
    for (const [op, method] of Object.entries(AGENT_OP_METHODS) as Array<[AgentOp, string]>) {
      const {ops, facade} = recording()
      const fn = (facade as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]
      expect(typeof fn, method).toBe('function')
      await fn.call(facade, {dev: 'x'}, 'x')
      expect(ops, method).toEqual([op])
    }
  })

  it('the replies have the fields their types declare', async () => {
    const p = join(dir, 'f')
    expect(await agent.writeFile(p, 'abc')).toEqual({bytes: 3})
    expect(await agent.writeFile(p, 'de', {append: true})).toEqual({bytes: 2})
    expect(readFileSync(p, 'utf8')).toBe('abcde')
    expect(await agent.readFile(p, 4)).toEqual({data: 'abcd', encoding: 'utf8', bytes: 4, truncated: true})
    expect(await agent.listDir(dir)).toEqual({entries: [{name: 'f', type: 'file'}], truncated: false})
    const r = await agent.exec(['sh', '-c', 'exit 3'])
    expect(Object.keys(r).sort()).toEqual(['signal', 'status', 'stderr', 'stdout', 'timedOut', 'truncated'])
    expect(r.status).toBe(3)
    expect((await agent.exec(['sleep', '5'], 100)).timedOut).toBe(true)
    const srv = await agent.serverStart({bind: '127.0.0.1', port: 0})
    expect(srv).toEqual({address: '127.0.0.1', port: expect.any(Number)})
    expect(await agent.serverStop()).toMatchObject({stopped: true, tests: 0})
  })

  it("passes the agent's errno through as an AgentError", async () => {
    const err = (await agent.readFile(join(dir, 'missing')).catch((e: unknown) => e)) as AgentError
    expect(err).toBeInstanceOf(AgentError)
    expect(err).toMatchObject({op: 'read_file', errno: 2, answered: true})
    const lo = (await agent.channelsGet('lo').catch((e: unknown) => e)) as AgentError
    expect(lo).toBeInstanceOf(AgentError)
    expect(lo.op).toBe('channels_get')
    expect(lo.errno).toBeGreaterThan(0)
  })
})
