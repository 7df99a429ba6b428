// The server a command starts for its own clients (scale's sweeps, a `testbed up` holder), in a
// child process rather than the command's own. Each end of a test then has the whole open-file
// limit for its sockets: 10,000 sessions take 10,000 descriptors on each side, and in one process
// they met EMFILE under a hard RLIMIT_NOFILE of 20,000 that a container may not raise. Neither
// end's event loop then waits on the other's (the server's result chunks, the client's histograms).
import {fork} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {MqbError, type ExitCodeValue} from '../errors.js'
import type {ServerHandle, ServerOptions} from './server.js'
import type {ChildReply, ChildRequest} from './server-child.js'

// From dist/sessions (the CLI) and from src/sessions (the tests, which build dist first) alike.
const CHILD = fileURLToPath(new URL('../../dist/sessions/server-child.js', import.meta.url))
const CLOSE_WAIT_MS = 10_000

export async function startServerProcess(options: Omit<ServerOptions, 'log'>): Promise<ServerHandle> {
  // No inherited execArgv (a test runner's loaders); stderr kept, so a crash is one line, not a trace.
  const child = fork(CHILD, [], {execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc']})
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)))
  const send = (m: ChildRequest) => child.connected && child.send(m)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const reply = await new Promise<ChildReply>((resolve) => {
    child.once('message', (m: ChildReply) => resolve(m))
    child.once('exit', (code, signal) =>
      resolve({
        type: 'error',
        message: `the server process ended before listening (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n')[0] || 'no message'}`,
      }),
    )
    child.once('error', (e) =>
      resolve({type: 'error', message: `cannot start a server process: ${e.message}`}),
    )
    send({type: 'start', options})
  })
  if (reply.type === 'error') {
    child.kill('SIGKILL')
    await exited
    if (reply.exitCode !== undefined) throw new MqbError(reply.message, reply.exitCode as ExitCodeValue)
    // As the error was in the child: the command's edge turns its errno into the line a person reads.
    throw Object.assign(new Error(reply.message), reply.code ? {code: reply.code} : {})
  }
  // The command may end without close() (an exception on its way out): it must not wait for the
  // child, and the child, seeing the channel close, ends too.
  child.unref()
  child.channel?.unref()
  return {
    address: reply.address,
    port: reply.port,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return
      send({type: 'close'})
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_WAIT_MS)
      await exited
      clearTimeout(timer)
    },
  }
}
