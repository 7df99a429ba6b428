// The guest agent's channel is one qemu chardev socket, and qemu serves one client at a time: the
// process that holds a vm testbed is that client. Other mqbench processes (`gen --testbed NAME`)
// reach the agent through this relay, a unix socket in the guest's scratch directory (mode 0700,
// so root's only) that speaks the same frames (docs/agent.md) and forwards each request through
// the holder's AgentClient, which owns the ids, the retries and the reconnects.
import {createServer, type Server, type Socket} from 'node:net'
import {join} from 'node:path'
import {rmSync} from 'node:fs'
import type {CleanupRegistry} from '../host/cleanup.js'
import {AGENT_PROTOCOL_VERSION, AgentError} from './agent-client.js'
import type {AgentChannel} from './agent-ops.js'
import {encodeFrame, FrameDecoder} from './framing.js'

export const agentRelayPath = (dir: string) => join(dir, 'agent-relay.sock')

// Each forwarded attempt waits this long and is asked again with the holder's same id (the agent
// answers a repeat from its cache, or once when the running request ends), long enough for a
// `gen_stop {wait: true}` of the longest run the agent accepts.
const ATTEMPT_MS = 30_000
const ATTEMPTS = 130

/** Serves the relay on `path` until the returned close (registered with `cleanup`) runs. */
export async function serveAgentRelay(
  agent: AgentChannel,
  path: string,
  cleanup: CleanupRegistry,
): Promise<{close(): void}> {
  rmSync(path, {force: true})
  const conns = new Set<Socket>()
  const server: Server = createServer((sock) => {
    conns.add(sock)
    const decoder = new FrameDecoder()
    // A client's retry of a request still being forwarded joins it instead of running it twice.
    const inFlight = new Map<string, Promise<Buffer>>()
    sock.on('error', () => {})
    sock.on('close', () => conns.delete(sock))
    sock.on('data', (chunk) => {
      for (const msg of decoder.push(chunk)) {
        if (msg instanceof Error) {
          sock.write(encodeFrame({v: AGENT_PROTOCOL_VERSION, id: 0, ok: false, error: msg.message, errno: 0}))
          continue
        }
        const key = JSON.stringify(msg)
        let answer = inFlight.get(key)
        if (!answer) {
          answer = forward(agent, msg).finally(() => inFlight.delete(key))
          inFlight.set(key, answer)
        }
        void answer.then((frame) => {
          if (!sock.destroyed) sock.write(frame)
        })
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  const stop = () => {
    for (const c of conns) c.destroy()
    server.close()
    rmSync(path, {force: true})
  }
  const close = cleanup.add(`agent relay ${path}`, stop)
  return {close}
}

async function forward(agent: AgentChannel, msg: Record<string, unknown>): Promise<Buffer> {
  const {v, id, op, ...args} = msg
  const reply = (body: Record<string, unknown>) =>
    encodeFrame({v: AGENT_PROTOCOL_VERSION, id: typeof id === 'number' ? id : 0, ...body})
  if (typeof id !== 'number' || typeof op !== 'string')
    return reply({ok: false, error: 'a request needs a numeric id and an op', errno: 0})
  if (v !== AGENT_PROTOCOL_VERSION)
    return reply({
      ok: false,
      error: `protocol version ${String(v)} is not ${AGENT_PROTOCOL_VERSION}`,
      errno: 0,
    })
  try {
    const result = await agent.request(op, args, {timeoutMs: ATTEMPT_MS, retries: ATTEMPTS - 1})
    return reply({ok: true, result})
  } catch (err) {
    const e = err instanceof AgentError ? err : undefined
    // The agent's own reason, without the "guest agent OP: " prefix the holder's client added.
    const text = (err as Error).message.replace(/^guest agent \w+: /, '')
    return reply({ok: false, error: e?.answered === false ? `relay: ${text}` : text, errno: e?.errno ?? 0})
  }
}
