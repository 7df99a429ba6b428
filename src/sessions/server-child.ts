// The process startServerProcess() forks: one mqbench server, started with the options of the
// parent's first message, closed on the parent's `close` message or when the parent is gone.
import {MqbError, errnoCode} from '../errors.js'
import {startServer, type ServerHandle, type ServerOptions} from './server.js'

export type ChildRequest = {type: 'start'; options: Omit<ServerOptions, 'log'>} | {type: 'close'}
export type ChildReply =
  | {type: 'listening'; address: string; port: number}
  | {type: 'error'; message: string; exitCode?: number; code?: string}

let handle: ServerHandle | undefined
let closing = false
const reply = (m: ChildReply, then?: () => void) => process.send?.(m, undefined, undefined, then)

async function finish(): Promise<void> {
  if (closing) return
  closing = true
  await handle?.close().catch(() => {})
  process.exit(0)
}

// Ctrl-C in a terminal reaches the whole process group: the parent decides when its server ends
// (it may still be collecting the interrupted test's figures). SIGTERM is for this process alone.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => void finish())
// The IPC channel closes when the parent exits, however it exits (a crash or SIGKILL too).
process.on('disconnect', () => void finish())
process.on('message', (m: ChildRequest) => {
  if (m.type === 'close') return void finish()
  startServer(m.options).then(
    (h) => {
      handle = h
      reply({type: 'listening', address: h.address, port: h.port})
    },
    (e: unknown) => {
      reply(
        {
          type: 'error',
          message: e instanceof Error ? e.message : String(e),
          exitCode: e instanceof MqbError ? e.exitCode : undefined,
          code: errnoCode(e),
        },
        () => process.exit(1), // once the message is out: exit() does not wait for the channel
      )
    },
  )
})
