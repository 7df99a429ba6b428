// Every failure a person can act on is an MqbError with one line of text and a distinct exit
// code. Library code throws them; the command base class (src/cli/base.ts) prints the line and
// exits with the code, so no stack trace ever reaches a user.

export const ExitCode = {
  ok: 0,
  failure: 1, // unexpected: a bug; the message says to run with DEBUG=* for the trace
  usage: 2, // oclif's own code for unknown flags and missing arguments
  badInput: 3, // a flag value out of range or malformed (queue range 8..1, size 10, ...); a file that cannot be written where asked
  privilege: 4, // missing CAP_NET_ADMIN / CAP_NET_RAW
  noDevice: 5, // unknown interface, interface down, no such namespace; a guest that did not come up
  unreachable: 6, // server not running, refused, timed out, wrong token
  badResults: 7, // a results file that is missing, malformed or of an unknown schema version
  unsupported: 8, // the device or kernel cannot do what was asked (no channels, too many queues); a missing tool
  checkFailed: 9, // `mqbench check` found a failing check
  notLocal: 10, // a non-local target without --allow-remote
  partial: 11, // the run stopped early (server died, worker crashed); partial results were kept
  busy: 12, // a testbed or object with that name exists already, or a running command uses it
  noBinary: 13, // the native addon or guest agent is missing or does not load here (no prebuild fits, or it is corrupt)
  // The guest, its agent or qemu failed (a QMP error reply, an agent op that failed with an errno),
  // or a far end spoke outside the session protocol: the fault is on the far side of a channel
  // mqbench drives, not in the person's flags or host (README, exit codes).
  farEnd: 14,
  interrupted: 130, // Ctrl-C / SIGTERM: what was measured so far was printed and saved
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export class MqbError extends Error {
  readonly exitCode: ExitCodeValue
  readonly suggestions: string[]
  constructor(message: string, exitCode: ExitCodeValue, suggestions: string[] = []) {
    super(message)
    this.name = 'MqbError'
    this.exitCode = exitCode
    this.suggestions = suggestions
  }
}

export const badInput = (message: string, ...suggestions: string[]) =>
  new MqbError(message, ExitCode.badInput, suggestions)

/** The errno name a native call or a child process failed with, if any. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as {code?: unknown})?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Maps a native error to an MqbError where its errno says what the person must do.
 * `capability` names the capability the failing call needs (CAP_NET_RAW for packet sockets,
 * CAP_NET_ADMIN for taps, namespaces and ethtool writes).
 */
export function fromNative(
  err: unknown,
  context: {capability?: 'CAP_NET_RAW' | 'CAP_NET_ADMIN'; dev?: string} = {},
): Error {
  if (err instanceof MqbError) return err
  const message = err instanceof Error ? err.message : String(err)
  switch (errnoCode(err)) {
    case 'EPERM':
    case 'EACCES': {
      const cap = context.capability ?? 'CAP_NET_ADMIN'
      return new MqbError(
        `${message}: mqbench needs ${cap} for this (run as root, or grant it: sudo setcap cap_net_raw,cap_net_admin+ep "$(readlink -f "$(which node)")")`,
        ExitCode.privilege,
      )
    }
    case 'ENODEV':
    case 'ENXIO':
      return new MqbError(
        `${message}${context.dev ? ` (interface ${context.dev})` : ''}: no such interface; list them with \`ip -br link\``,
        ExitCode.noDevice,
      )
    case 'ENETDOWN':
      return new MqbError(
        `${message}: the interface is down; bring it up with \`ip link set ${context.dev ?? 'IF'} up\``,
        ExitCode.noDevice,
      )
    case 'ECONNREFUSED':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new MqbError(message, ExitCode.unreachable)
    case 'EOPNOTSUPP':
      return new MqbError(message, ExitCode.unsupported)
    // Reached by any file a run opens after its sessions took the descriptors (a /proc read at the
    // end of a window): the fix is the same whichever open failed.
    case 'EMFILE':
    case 'ENFILE':
      return new MqbError(
        `${message}: out of open files (${errnoCode(err)}); raise RLIMIT_NOFILE (\`ulimit -n\`, LimitNOFILE=) or run fewer sessions`,
        ExitCode.unsupported,
      )
    default:
      return err instanceof Error ? err : new Error(message)
  }
}
