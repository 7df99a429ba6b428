// Flags shared by `mqbench rr` and `mqbench stream` (and the server's limits), declared once.
import {Flags} from '@oclif/core'
import {DEFAULT_PORT} from '../sessions/server.js'
import {parseConfidence, parseIterations} from '../sessions/iterations.js'
import {cpuListFlag, durationFlag, netnsFlag} from './flags.js'
import {LIMITS} from '../limits.js'
import {ExitCode, MqbError} from '../errors.js'

export const iterationsFlag = Flags.custom<{min: number; max: number}>({
  parse: async (input) => parseIterations(input),
  helpValue: 'MIN,MAX',
})

export const confidenceFlag = Flags.custom<{level: number; widthPct: number}>({
  parse: async (input) => parseConfidence(input),
  helpValue: 'LEVEL,WIDTH',
  defaultHelp: async ({options}) => {
    const d = options.default
    return d && typeof d === 'object' ? `${d.level},${d.widthPct}` : undefined
  },
})

export const sessionClientFlags = {
  server: Flags.string({
    default: '127.0.0.1',
    description:
      'address of the mqbench server (must be on this machine or in one of its namespaces unless --allow-remote), or ssh://[user@]host[:port] to run the server there for this test over SSH (docs/hosts.md)',
    helpValue: 'HOST|ssh://HOST',
  }),
  port: Flags.integer({
    helpValue: 'PORT',
    default: DEFAULT_PORT,
    min: 1,
    max: 65535,
    description: "the server's control port",
  }),
  netns: netnsFlag,
  token: Flags.string({
    env: 'MQBENCH_TOKEN',
    description: "the server's token (needed when it listens on a non-loopback address)",
    helpValue: 'TOKEN',
  }),
  testbed: Flags.string({
    description:
      "run against a held testbed (`mqbench testbed up NAME`): its far end's server, port and token, the client in its A namespace",
    helpValue: 'NAME',
    exclusive: ['netns'],
  }),
  'allow-remote': Flags.boolean({
    default: false,
    description: 'allow a server address that is not on this machine',
  }),
  sessions: Flags.integer({
    helpValue: 'N',
    default: 1,
    min: 1,
    max: LIMITS.maxSessions,
    description: 'concurrent sessions (connections)',
  }),
  threads: Flags.integer({
    helpValue: 'N',
    min: 1,
    max: LIMITS.maxThreads,
    description:
      'native client threads the sessions are spread over with epoll (default: one per CPU, two for tcp_crr; at most one per session)',
  }),
  duration: durationFlag({default: 10_000, description: 'length of the measurement window'}),
  cpus: cpuListFlag({description: 'pin client thread i to the (i mod n)-th CPU of this list'}),
  interval: durationFlag({description: 'print interim results this often while the test runs'}),
  iterations: iterationsFlag({
    description: 'repeat at least MIN and at most MAX times, until --confidence is met (netperf -i)',
  }),
  confidence: confidenceFlag({
    default: {level: 99, widthPct: 5},
    description:
      'stop repeating once the LEVEL% confidence interval of the mean is at most WIDTH% of the mean (netperf -I)',
  }),
}

/**
 * --testbed NAME filled in: the held testbed's far-end server and its A namespace. The registry
 * (42 modules with the vm guest's, ~30 ms of a start) is imported only when --testbed is given.
 */
export async function sessionTarget(flags: {
  testbed?: string
  server: string
  port: number
  netns?: string
  token?: string
}): Promise<{server: string; port: number; netns?: string; token?: string}> {
  if (!flags.testbed) return flags
  const {heldTestbed} = await import('../testbed/registry.js')
  const rec = heldTestbed(flags.testbed)
  if (!rec.server)
    throw new MqbError(
      `testbed ${flags.testbed} holds no session server (a dev testbed's server is --server HOST:PORT)`,
      ExitCode.unsupported,
    )
  return {
    server: rec.server.host,
    port: rec.server.port,
    netns: rec.nsA || undefined,
    token: rec.server.token,
  }
}
