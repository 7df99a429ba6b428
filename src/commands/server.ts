import {Flags} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {onInterrupt} from '../cli/cleanup.js'
import {cpuListFlag, durationFlag, netnsFlag} from '../cli/flags.js'
import {DEFAULT_LIMITS, DEFAULT_PORT, startServer} from '../sessions/index.js'
import {LIMITS} from '../limits.js'
import {requirePrereqs} from '../prereqs.js'

export default class Server extends MqbCommand {
  static summary = `Serve rr and stream tests (netserver's role) until interrupted.`

  static description = `One control connection per test and one native engine per test for its data connections; many tests and clients at once. The server only accepts connections: it never connects out, and answers UDP only to the address of the test's own control connection. It listens on loopback unless told otherwise; any other address requires a token that clients present (--token or MQBENCH_TOKEN). A bad control message closes that one connection, with the reason logged on stderr.`

  static examples = [
    {description: 'Serve on 127.0.0.1:12866', command: '<%= config.bin %> server'},
    {
      description: 'Serve inside a testbed namespace, on its veth address, with a token',
      command: 'MQBENCH_TOKEN=s3cret <%= config.bin %> server --netns mqb-tb1-b --bind 198.18.100.2',
    },
  ]

  static enableJsonFlag = true

  static flags = {
    bind: Flags.string({
      default: '127.0.0.1',
      description: 'address to listen on (non-loopback needs --token)',
      helpValue: 'ADDR',
    }),
    port: Flags.integer({
      helpValue: 'PORT',
      default: DEFAULT_PORT,
      min: 0,
      max: 65535,
      description: 'control port (0: any free port, printed at start)',
    }),
    netns: netnsFlag,
    token: Flags.string({
      env: 'MQBENCH_TOKEN',
      description: 'token clients must present',
      helpValue: 'TOKEN',
    }),
    'max-sessions': Flags.integer({
      helpValue: 'N',
      default: DEFAULT_LIMITS.maxSessions,
      min: 1,
      max: LIMITS.maxSessions,
      description: 'sessions per test',
    }),
    'max-tests': Flags.integer({
      helpValue: 'N',
      default: DEFAULT_LIMITS.maxTests,
      min: 1,
      max: LIMITS.maxServerTests,
      description: 'tests running at once',
    }),
    cpus: cpuListFlag({
      description:
        "pin each test's engine thread i to the (i mod n)-th CPU of this list, at most one thread per CPU (netperf -T)",
    }),
    'max-duration': durationFlag({
      default: DEFAULT_LIMITS.maxDurationMs,
      description: 'longest test accepted',
    }),
  }

  async run(): Promise<{address: string; port: number}> {
    const {flags} = await this.parse(Server)
    await requirePrereqs('sessions')
    const handle = await startServer({
      bind: flags.bind,
      port: flags.port,
      netns: flags.netns,
      token: flags.token,
      maxSessions: flags['max-sessions'],
      maxTests: flags['max-tests'],
      maxDurationMs: flags['max-duration'],
      cpus: flags.cpus,
      log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
    })
    const where = `${handle.address}:${handle.port}${flags.netns ? ` in namespace ${flags.netns}` : ''}${flags.cpus ? `, engine threads on CPUs ${flags.cpus.join(',')}` : ''}`
    if (!this.jsonEnabled()) this.log(`mqbench server listening on ${where}`)
    await new Promise<void>((resolve) => {
      const off = onInterrupt(() => {
        off()
        resolve()
      })
    })
    await handle.close()
    return {address: handle.address, port: handle.port}
  }
}
