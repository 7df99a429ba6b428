import {Flags} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {cleanup, onInterrupt} from '../cli/cleanup.js'
import {durationFlag, netnsFlag} from '../cli/flags.js'
import {ExitCode} from '../errors.js'
import {runCheck, type CheckReport} from '../check/run.js'
import {LIMITS} from '../limits.js'

export default class Check extends MqbCommand {
  static summary = `Run the multiqueue virtio-net test plan on a live interface.`

  static description = `Sets N channels and reads them back, checks /sys/class/net/IF/queues, runs --sessions concurrent TCP_RR sessions against a \`mqbench server\` and checks that every queue's interrupt line and ethtool -S counter rose and that the interrupts are spread over CPUs, runs the same load at 1 queue, and restores the original channel count (also on Ctrl-C or an error). One line per check: PASS, FAIL or N/A with the numbers read. Interfaces without per-queue interrupts (veth, tap) get N/A with the reason. Exits ${ExitCode.checkFailed} when a check failed.`

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
    dev: Flags.string({description: 'the interface to check', helpValue: 'IF', required: true}),
    server: Flags.string({
      description: 'address of a running `mqbench server` reached through IF',
      helpValue: 'HOST',
      required: true,
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
    sessions: Flags.integer({
      helpValue: 'N',
      description: 'concurrent TCP_RR sessions',
      default: 20,
      min: 1,
      max: LIMITS.maxSessions,
    }),
    duration: durationFlag({description: 'length of each load run', default: 5000}),
    netns: netnsFlag,
  }

  async run(): Promise<CheckReport> {
    const {flags} = await this.parse(Check)
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
