import {spawn} from 'node:child_process'
import {mkdirSync, openSync} from 'node:fs'
import {join} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {MqbCommand} from '../../cli/base.js'
import {cleanup, onInterrupt} from '../../cli/cleanup.js'
import {cpuListFlag, testbedKindFlag} from '../../cli/flags.js'
import {ExitCode, MqbError} from '../../errors.js'
import {createTestbed} from '../../testbed/index.js'
import {pidAlive, readRecords, stateDir, type TestbedRecord} from '../../testbed/registry.js'
import {LIMITS} from '../../limits.js'

export default class TestbedUp extends MqbCommand {
  static description = `Create a testbed and hold it until Ctrl-C, SIGTERM or \`mqbench testbed down NAME\`.

A tap testbed needs a live relay, so this command stays in the foreground (the relay runs in it);
--detach runs it in the background instead, logging to /run/mqbench/testbeds/NAME.log.
Either way the testbed is removed when the holding process ends.`

  static enableJsonFlag = true

  static examples = [
    '<%= config.bin %> testbed up tb1 --kind tap --max-queues 4',
    '<%= config.bin %> testbed up one --kind tap --max-queues 4 --queues 1',
    '<%= config.bin %> testbed up tb2 --kind veth --max-queues 8 --detach',
    '<%= config.bin %> testbed up nic --kind dev:eth1 --server 192.0.2.7 --token s3cret',
  ]

  static args = {
    name: Args.string({description: 'testbed name: 1-9 lower-case letters or digits', default: 'tb'}),
  }

  static flags = {
    kind: testbedKindFlag({
      description: 'tap, veth or dev:IF',
      default: {kind: 'tap'},
      defaultHelp: async () => 'tap',
    }),
    'max-queues': Flags.integer({
      description: 'queues the link is created with (tap, veth: default 8; dev: what the driver allows)',
      min: 1,
      max: LIMITS.maxQueues,
    }),
    queues: Flags.integer({
      description: 'live queue count to start with (default: --max-queues)',
      min: 1,
      max: LIMITS.maxQueues,
    }),
    'relay-cpus': cpuListFlag({description: 'tap: CPUs to pin the relay workers to (cycled)'}),
    server: Flags.string({description: 'dev: the remote `mqbench server` as HOST[:PORT]'}),
    token: Flags.string({description: 'dev: the remote server token'}),
    detach: Flags.boolean({
      description: 'hold the testbed from a background process and return once it is up',
    }),
  }

  async run(): Promise<TestbedRecord> {
    const {args, flags} = await this.parse(TestbedUp)
    if (flags.detach) return this.detach(args.name)
    const tb = createTestbed(
      {kind: flags.kind.kind, dev: flags.kind.dev, name: args.name, server: flags.server, token: flags.token},
      {
        maxQueues: flags['max-queues'] ?? (flags.kind.kind === 'dev' ? 1 : 8),
        relayCpus: flags['relay-cpus'],
        cleanup,
      },
    )
    try {
      if (flags.queues !== undefined && flags.queues !== tb.maxQueues) tb.setQueueCount(flags.queues)
      const rec = readRecords().find((r) => r.name === tb.name)!
      if (!this.jsonEnabled()) {
        this.show(rec)
        this.log(`  live queue count: ${tb.queueCount()}`)
      }
      await this.hold(() => tb.checkHealthy())
      return rec
    } finally {
      tb.close()
      if (!this.jsonEnabled()) this.log(`testbed ${tb.name} removed`)
    }
  }

  /** Resolves on Ctrl-C / SIGTERM; rejects when the health check throws (a failed relay). */
  private hold(check: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const end = (err?: unknown) => {
        clearInterval(watch)
        off()
        if (err) reject(err)
        else resolve()
      }
      const off = onInterrupt(() => end())
      const watch = setInterval(() => {
        try {
          check()
        } catch (err) {
          end(err)
        }
      }, 500)
    })
  }

  private async detach(name: string): Promise<TestbedRecord> {
    const argv = process.argv.slice(1).filter((a) => a !== '--detach' && a !== '--json')
    const log = join(stateDir(), `${name}.log`)
    mkdirSync(stateDir(), {recursive: true})
    const fd = openSync(log, 'a')
    const child = spawn(process.execPath, argv, {detached: true, stdio: ['ignore', fd, fd]})
    child.unref()
    for (let waited = 0; waited < 20_000; waited += 100) {
      const rec = readRecords().find((r) => r.name === name && r.pid === child.pid)
      if (rec) {
        if (!this.jsonEnabled()) this.show(rec)
        return rec
      }
      if (!pidAlive(child.pid!)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new MqbError(`the background testbed process did not come up; see ${log}`, ExitCode.failure)
  }

  private show(rec: TestbedRecord): void {
    this.log(`testbed ${rec.name} (${rec.kind}, up to ${rec.maxQueues} queues), held by process ${rec.pid}`)
    this.log(`  A: ${rec.devA} ${rec.ipA}${rec.nsA ? ` in netns ${rec.nsA}` : ''}`)
    this.log(`  B: ${rec.devB} ${rec.ipB}${rec.nsB ? ` in netns ${rec.nsB}` : ''}`)
    if (process.stdout.isTTY) this.log('Ctrl-C removes it')
  }
}
