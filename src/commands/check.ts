import {Flags} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {cleanup, onInterrupt} from '../cli/cleanup.js'
import {checkLoadFlags, netnsFlag} from '../cli/flags.js'
import {ExitCode, MqbError} from '../errors.js'
import {runCheck, type CheckReport} from '../check/run.js'
import {LIMITS} from '../limits.js'
import {requirePrereqs} from '../prereqs.js'

export default class Check extends MqbCommand {
  static summary = `Run the multiqueue virtio-net test plan on a live interface (\`check vm\`: all of it in guests mqbench boots).`

  static description = `Sets N channels and reads them back, checks /sys/class/net/IF/queues, runs --sessions concurrent TCP_RR sessions against a \`mqbench server\` and checks that every queue's interrupt line and ethtool -S counter rose and that the interrupts are spread over CPUs, runs the same load at 1 queue, and restores the original channel count (also on Ctrl-C or an error). One line per check: PASS, FAIL or N/A with the numbers read. Interfaces without per-queue interrupts (veth, tap) get N/A with the reason. Exits ${ExitCode.checkFailed} when a check failed.

\`mqbench check vm\` runs the whole plan, and tp-qemu's multiqueue checks, in qemu guests mqbench boots itself.`

  static enableJsonFlag = true

  static examples = [
    {
      description: 'Check eth0 against a server on another host, at 2 queues',
      command: '<%= config.bin %> check --dev eth0 --server 192.0.2.7 --token s3cret --allow-remote',
    },
    {
      description: '4 queues, 20 sessions, 10 s per load run',
      command:
        '<%= config.bin %> check --dev eth0 --server 192.0.2.7 --queues 4 --sessions 20 --duration 10s --allow-remote',
    },
    {
      description:
        "A testbed's side A (`mqbench testbed up tb1 --kind veth --max-queues 4` and `mqbench server --netns mqb-tb1-b --bind 198.18.100.2 --token s3cret`), as JSON",
      command:
        '<%= config.bin %> check --dev mqb-tb1-a --netns mqb-tb1-a --server 198.18.100.2 --token s3cret --json',
    },
  ]

  static flags = {
    dev: Flags.string({description: 'the interface to check', helpValue: 'IF'}),
    server: Flags.string({
      description:
        'address of a running `mqbench server` reached through IF, or ssh://[user@]HOST[:PORT] to serve from that host for the check (docs/hosts.md)',
      helpValue: 'HOST|ssh://HOST',
    }),
    port: Flags.integer({
      helpValue: 'PORT',
      description: "the server's port (default 12866)",
      min: 1,
      max: 65535,
    }),
    token: Flags.string({description: "the server's token", env: 'MQBENCH_TOKEN', helpValue: 'TOKEN'}),
    'allow-remote': Flags.boolean({description: 'allow a server address that is not on this machine'}),
    queues: Flags.integer({
      helpValue: 'N',
      description: 'N: the queue count to test',
      default: 2,
      min: 2,
      max: LIMITS.maxQueues,
    }),
    ...checkLoadFlags,
    netns: netnsFlag,
  }

  /** Set when the old spelling handed the run to `check vm`, which printed its own JSON or error. */
  private handedOver = false

  jsonEnabled(): boolean {
    return !this.handedOver && super.jsonEnabled()
  }

  async run(): Promise<CheckReport | undefined> {
    const vmArgv = oldVmSpelling(this.argv)
    if (vmArgv) {
      process.stderr.write('mqbench: `check --testbed vm` is now `mqbench check vm` (same flags)\n')
      this.handedOver = true
      await this.config.runCommand('check:vm', vmArgv)
      return undefined
    }
    const {flags} = await this.parse(Check)
    if (!flags.dev || !flags.server)
      throw new MqbError(
        'give --dev IF and --server HOST (or run the plan in guests: `mqbench check vm`)',
        ExitCode.badInput,
      )
    await requirePrereqs('sessions')
    const abort = new AbortController()
    const off = onInterrupt(() => abort.abort())
    try {
      const report = await runCheck(
        {
          dev: flags.dev,
          server: flags.server,
          port: flags.port,
          netns: flags.netns,
          token: flags.token,
          allowRemote: flags['allow-remote'],
          queues: flags.queues,
          sessions: flags.sessions,
          durationMs: flags.duration,
        },
        {
          cleanup,
          signal: abort.signal,
          onPhase: this.jsonEnabled() ? undefined : (line) => this.logToStderr(`.. ${line}`),
        },
      )
      if (!this.jsonEnabled()) this.show(report)
      if (report.failed > 0) process.exitCode = ExitCode.checkFailed
      return report
    } finally {
      off()
    }
  }

  private show(r: CheckReport): void {
    const width = Math.max(...r.checks.map((c) => c.title.length))
    for (const c of r.checks) this.log(`${c.status.padEnd(4)}  ${c.title.padEnd(width)}  ${c.evidence}`)
    this.log(r.failed ? `${r.failed} check(s) failed` : 'no check failed')
  }
}

/**
 * The argv of `check --testbed vm ...` without `--testbed vm`, for `check vm`; undefined for any
 * other command line (the live-interface plan).
 */
export function oldVmSpelling(argv: string[]): string[] | undefined {
  const end = argv.indexOf('--')
  const words = end < 0 ? argv : argv.slice(0, end)
  const at = words.findIndex((w, i) => w === '--testbed=vm' || (w === '--testbed' && words[i + 1] === 'vm'))
  if (at < 0) return undefined
  return [...argv.slice(0, at), ...argv.slice(at + (argv[at] === '--testbed' ? 2 : 1))]
}
