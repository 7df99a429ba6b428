// A far end named ssh://...: open the host (ssh.ts), check what the run needs there before
// anything changes (the caller's FarCheck, made by src/prereqs.ts), start what it serves, and turn
// a run that failed because the host went away into one line naming the host, when and why.
// Commands call these; a far end named by an address is left to them unchanged.
import {randomBytes} from 'node:crypto'
import {ExitCode, MqbError} from '../errors.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import {PartialRunError} from '../sessions/client.js'
import {AgentError} from '../vm/agent-client.js'
import {FarHost, isSshUrl} from './ssh.js'

export {isSshUrl} from './ssh.js'

/**
 * What a far end is checked for once its agent is up, before anything changes there: the
 * prerequisites table's own check (prereqs.ts's farCheck, a floor above this one), handed in by
 * the caller that knows what the run needs; `run` adds what is known only here (a step's sessions).
 */
export type FarCheck = (host: FarHost, run?: {sessions?: number}) => Promise<void>

/**
 * Opens an SSH far end and registers its undo (ending ssh ends the agent and removes its
 * directory there) with `cleanup`, so that Ctrl-C, SIGTERM or an exception also clean the host.
 */
export async function openFarHost(url: string, cleanup?: CleanupRegistry): Promise<FarHost> {
  const host = await FarHost.open(url)
  const undo = cleanup?.add(`the agent on ${url}`, () => host.kill())
  const close = host.close.bind(host)
  host.close = async (graceMs?: number) => {
    await close(graceMs)
    undo?.()
  }
  return host
}

/** A session server running on a far host, for rr, stream and scale. */
export interface FarServer {
  host: FarHost
  server: string
  port: number
  token: string
}

/**
 * Starts the agent's session server on the far host, listening on the address its sshd was
 * reached at (the traffic goes only to the named host), with a token of its own.
 */
export async function startFarServer(
  host: FarHost,
  o: {sessions: number; threads?: number; cpus?: number[]; token?: string; check: FarCheck},
): Promise<FarServer> {
  await o.check(host, {sessions: o.sessions})
  const token = o.token ?? randomBytes(16).toString('hex')
  const started = await host.serverStart({
    bind: host.address,
    port: 0,
    token,
    maxSessions: Math.max(1000, o.sessions),
    ...(o.threads ? {threads: o.threads} : {}),
    ...(o.cpus?.length ? {cpus: o.cpus} : {}),
  })
  return {host, server: started.address, port: started.port, token}
}

/** Stops the far server if the host is still there; never throws (it runs on the way out). */
export async function stopFarServer(s: FarServer): Promise<void> {
  if (s.host.failure) return
  await s.host.serverStop({timeoutMs: 10_000}).catch(() => {})
}

/**
 * The error a run against `host` ended with, told as the host's failure when the host went
 * away: a run whose server vanished waits (up to `settleMs`) for ssh to say why. A partial result
 * is kept and its message names the far end.
 */
export async function explainFarFailure(host: FarHost, err: unknown, settleMs = 8_000): Promise<unknown> {
  if (!(err instanceof MqbError) || err instanceof AgentError) return err
  const mayBeTheHost = err instanceof PartialRunError || err.exitCode === ExitCode.unreachable
  if (!host.failure && mayBeTheHost) await host.settle(settleMs)
  if (!host.failure) return err
  const line = host.failureLine()
  if (err instanceof PartialRunError) {
    const kept = /; kept .*$/.exec(err.message)?.[0] ?? ''
    return new PartialRunError(`${line}${kept}`, err.result, line)
  }
  return new MqbError(line, ExitCode.unreachable)
}

/** What rr and stream hold for their far end: the server to aim at, and its way out. */
export interface SessionFarEnd<T> {
  target: T & {server: string; port: number; token?: string}
  /** true when mqbench started the server on an ssh:// host (the consent to leave this machine) */
  remote: boolean
  explain(err: unknown): Promise<unknown>
  close(): Promise<void>
}

/**
 * The far end of rr/stream: a server named by address is used as it is; `ssh://...` starts one on
 * that host for the run (checked, then served with its own token) and ends it afterwards.
 */
export async function sessionFarEnd<T extends {server: string; port: number; token?: string}>(
  target: T,
  o: {sessions: number; cleanup?: CleanupRegistry; check: FarCheck},
): Promise<SessionFarEnd<T>> {
  if (!isSshUrl(target.server)) return {target, remote: false, explain: async (e) => e, close: async () => {}}
  const host = await openFarHost(target.server, o.cleanup)
  let far: FarServer
  try {
    far = await startFarServer(host, {sessions: o.sessions, check: o.check})
  } catch (err) {
    await host.close()
    throw await explainFarFailure(host, err)
  }
  return {
    target: {...target, server: far.server, port: far.port, token: far.token},
    remote: true,
    explain: (err) => explainFarFailure(host, err),
    close: async () => {
      await stopFarServer(far)
      await host.close()
    },
  }
}
