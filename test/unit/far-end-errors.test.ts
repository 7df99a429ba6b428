// The far end's failures as a person sees them: a QMP error reply, an agent op that failed with an
// errno and a message outside the session protocol each end a command with one line and exit 14
// (README, exit codes), through the same edge every command uses (src/cli/base.ts). Each error is
// made by the real client against a peer: a scripted QMP socket, the real static agent over
// --stdio, the session protocol's reader.
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Config} from '@oclif/core'
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'
import {MqbCommand} from '../../src/cli/base.js'
import {ExitCode, MqbError} from '../../src/errors.js'
import {agentBinary} from '../../src/native.js'
import {serverMessageReader} from '../../src/sessions/protocol.js'
import {AgentClient, processChannel} from '../../src/vm/agent-client.js'
import {QmpClient} from '../../src/vm/qmp.js'

let config: Config
let dir: string
const servers: Server[] = []

beforeAll(async () => {
  config = await Config.load(new URL('../..', import.meta.url).pathname)
  dir = mkdtempSync(join(tmpdir(), 'mqb-far-end-'))
})

afterAll(() => {
  for (const s of servers) s.close()
  rmSync(dir, {recursive: true, force: true})
})

/** Runs a command whose run() fails with `err`; returns its exit code and what reached stderr. */
async function asCommand(err: unknown): Promise<{exit: number | undefined; lines: string[]}> {
  class Failing extends MqbCommand {
    async run(): Promise<void> {
      throw err
    }
  }
  let stderr = ''
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk)
    return true
  })
  try {
    const thrown = (await Failing.run([], config).then(
      () => undefined,
      (e: unknown) => e,
    )) as {oclif?: {exit?: number}} | undefined
    return {exit: thrown?.oclif?.exit, lines: stderr.split('\n').filter((l) => l.trim())}
  } finally {
    spy.mockRestore()
  }
}

/** A qemu monitor that greets, takes capabilities and refuses every other command. */
async function refusingQmp(): Promise<string> {
  const path = join(dir, 'qmp.sock')
  const server = createServer((s) => {
    s.write(
      `${JSON.stringify({QMP: {version: {qemu: {major: 10, minor: 0, micro: 0}}, capabilities: []}})}\n`,
    )
    let buf = ''
    s.on('data', (c) => {
      buf += c.toString()
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const req = JSON.parse(buf.slice(0, nl)) as {execute: string; id: string}
        buf = buf.slice(nl + 1)
        const reply =
          req.execute === 'qmp_capabilities'
            ? {return: {}, id: req.id}
            : {error: {class: 'DeviceNotFound', desc: "Device 'nic9' not found"}, id: req.id}
        s.write(`${JSON.stringify(reply)}\n`)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  servers.push(server)
  return path
}

describe('failures at the far end', () => {
  it('a QMP error reply: one line, exit 14', async () => {
    const qmp = await QmpClient.connect(await refusingQmp())
    const err = await qmp.execute('device_del', {id: 'nic9'}).catch((e: unknown) => e)
    qmp.close()
    expect(err).toBeInstanceOf(MqbError)
    const r = await asCommand(err)
    expect(r.exit).toBe(ExitCode.farEnd)
    expect(r.lines).toEqual(["mqbench: QMP device_del: Device 'nic9' not found"])
  })

  it("an agent op's errno: one line, exit 14", async () => {
    const agent = new AgentClient('stdio', {open: processChannel([agentBinary(), '--stdio'])})
    try {
      const missing = join(dir, 'missing')
      const err = await agent.request('read_file', {path: missing}).catch((e: unknown) => e)
      expect(err).toMatchObject({errno: 2, answered: true})
      const r = await asCommand(err)
      expect(r.exit).toBe(ExitCode.farEnd)
      expect(r.lines).toHaveLength(1)
      expect(r.lines[0]).toMatch(new RegExp(`^mqbench: guest agent read_file: .*${missing}`))
    } finally {
      agent.close()
    }
  })

  it('a message outside the session protocol: one line, exit 14', async () => {
    let err: unknown
    try {
      serverMessageReader().push('{"type": "welcome", "version": "two"}')
    } catch (e) {
      err = e
    }
    const r = await asCommand(err)
    expect(r.exit).toBe(ExitCode.farEnd)
    expect(r.lines).toHaveLength(1)
    expect(r.lines[0]).toMatch(/^mqbench: .*version/)
  })

  it('anything else is still an unexpected error, exit 1 (the condition above, broken)', async () => {
    const r = await asCommand(new Error("QMP device_del: Device 'nic9' not found"))
    expect(r.exit).toBe(ExitCode.failure)
    expect(r.lines[0]).toMatch(/unexpected error/)
  })
})
