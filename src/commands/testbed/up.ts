import {spawn} from 'node:child_process'
import {closeSync, fstatSync, mkdirSync, openSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {MqbCommand} from '../../cli/base.js'
import {cleanup, installCleanupHandlers, onInterrupt} from '../../cli/cleanup.js'
import {cpuListFlag, testbedKindFlag, vmFlags, vmOptions} from '../../cli/flags.js'
import {ExitCode, MqbError, type ExitCodeValue} from '../../errors.js'
import {checkTestbedSpec, createTestbed, type TestbedKind} from '../../testbed/index.js'
import {LIMITS} from '../../limits.js'
import {plural} from '../../util/text.js'
import {serverFor} from '../../scale/workloads.js'
import {ownerSelf, readRecords, stateDir, writeRecord, type TestbedRecord} from '../../testbed/registry.js'
import {vmNames} from '../../testbed/vm.js'
import {agentRelayPath, serveAgentRelay} from '../../vm/agent-relay.js'
import {requirePrereqs} from '../../prereqs.js'

// A guest under TCG on a small host boots in seconds per vCPU: 2 queue pairs keep it quick.
const DEFAULT_MAX_QUEUES: Record<TestbedKind, number> = {tap: 8, veth: 8, vm: 2, dev: 1}

export default class TestbedUp extends MqbCommand {
  static summary = `Create a testbed and hold it until Ctrl-C, SIGTERM or \`mqbench testbed down NAME\`.`

  static description = `A tap testbed needs a live relay, so this command stays in the foreground (the relay runs in it); --detach runs it in the background instead, logging to /run/mqbench/testbeds/NAME.log. Either way the testbed is removed when the holding process ends.`

  static enableJsonFlag = true

  static examples = [
    {
      description: 'A tap testbed with 4 queues, held in the foreground',
      command: '<%= config.bin %> testbed up tb1 --kind tap --max-queues 4',
    },
    {
      description: 'Created with 4 queues, starting at 1',
      command: '<%= config.bin %> testbed up one --kind tap --max-queues 4 --queues 1',
    },
    {
      description: 'A veth testbed held by a background process',
      command: '<%= config.bin %> testbed up tb2 --kind veth --max-queues 8 --detach',
    },
    {
      description: 'A real NIC and a remote server',
      command: '<%= config.bin %> testbed up nic --kind dev:eth1 --server 192.0.2.7 --token s3cret',
    },
    {
      description: 'A qemu guest with a 4-queue virtio-net',
      command: '<%= config.bin %> testbed up g1 --kind vm --max-queues 4 --vcpus 4 --memory 512M',
    },
  ]

  static args = {
    name: Args.string({description: 'testbed name: 1-9 lower-case letters or digits', default: 'tb'}),
  }

  static flags = {
    kind: testbedKindFlag({
      description: 'tap, veth, vm or dev:IF',
      default: {kind: 'tap'},
      defaultHelp: async () => 'tap',
    }),
    'max-queues': Flags.integer({
      helpValue: 'N',
      description:
        'queues the link is created with (tap, veth: default 8; vm: default 2; dev: what the driver allows)',
      min: 1,
      max: LIMITS.maxQueues,
    }),
    queues: Flags.integer({
      helpValue: 'N',
      description: 'live queue count to start with (default: --max-queues)',
      min: 1,
      max: LIMITS.maxQueues,
    }),
    'relay-cpus': cpuListFlag({description: 'tap: CPUs to pin the relay workers to (cycled)'}),
    server: Flags.string({
      description: 'dev: the remote `mqbench server` as HOST[:PORT]',
      helpValue: 'HOST[:PORT]',
    }),
    token: Flags.string({description: 'dev: the remote server token', helpValue: 'TOKEN'}),
    ...vmFlags,
    detach: Flags.boolean({
      description: 'hold the testbed from a background process and return once it is up',
    }),
  }

  async run(): Promise<TestbedRecord> {
    const {args, flags} = await this.parse(TestbedUp)
    // Everything that can be checked before creating anything, so that --detach never reports
    // success for what the background process would then refuse.
    const maxQueues = flags['max-queues'] ?? DEFAULT_MAX_QUEUES[flags.kind.kind]
    checkTestbedSpec(args.name, maxQueues)
    if (flags.queues !== undefined && flags.queues > maxQueues)
      throw new MqbError(`--queues ${flags.queues} is more than --max-queues ${maxQueues}`, ExitCode.badInput)
    await requirePrereqs(`testbed:${flags.kind.kind}`, {kernel: flags.kernel})
    if (flags.detach) return this.detach(args.name)
    // Ctrl-C while a guest boots must stop it and remove what was made, like Ctrl-C while held.
    installCleanupHandlers()
    const tb = await createTestbed(
      {kind: flags.kind.kind, dev: flags.kind.dev, name: args.name, server: flags.server, token: flags.token},
      {
        maxQueues,
        relayCpus: flags['relay-cpus'],
        cleanup,
        vm: vmOptions(flags),
        // A holder: `testbed down` (NAME or --all) is how it is meant to end.
        owner: ownerSelf('mqbench testbed up', true),
      },
    ).catch((err: unknown) => {
      if (flags.keep) cleanup.forgetAll()
      throw err
    })
    let far: Awaited<ReturnType<typeof serverFor>> | undefined
    let relay: {close(): void} | undefined
    try {
      // Other processes (`gen --testbed NAME`) reach the guest's agent through this process.
      if (tb.kind === 'vm' && tb.agent)
        relay = await serveAgentRelay(tb.agent, agentRelayPath(vmNames(tb.name).dir), cleanup)
      if (flags.queues !== undefined && flags.queues !== tb.maxQueues) await tb.setQueueCount(flags.queues)
      // A session server at the far end for `rr`/`stream --testbed NAME`, with its own token (a
      // dev testbed's is the remote one, when its port was given).
      const found = readRecords().find((r) => r.name === tb.name)!
      let server: TestbedRecord['server']
      if (!tb.remote) {
        far = await serverFor(tb, LIMITS.defaultServerSessions, flags.token)
        server = {host: far.server, port: far.port, token: far.token}
      } else if (tb.remote.port) server = {host: tb.remote.host, port: tb.remote.port, token: tb.remote.token}
      const rec: TestbedRecord = {...found, ...(server ? {server} : {})}
      writeRecord(rec)
      if (!this.jsonEnabled()) {
        this.show(rec)
        this.log(`  live queue count: ${tb.queueCount()}`)
        for (const w of tb.warnings ?? []) this.warn(w)
      }
      await this.hold(() => tb.checkHealthy())
      return rec
    } finally {
      await far?.close().catch(() => {})
      relay?.close()
      await tb.close()
      if (!this.jsonEnabled()) this.log(`testbed ${tb.name} removed`)
    }
  }

  /** Resolves on Ctrl-C / SIGTERM; rejects when the health check throws (a failed relay). */
  private hold(check: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const end = (err?: unknown) => {
        clearInterval(watch)
        off()
        if (err) reject(err)
        else resolve()
      }
      const off = onInterrupt(() => end())
      let checking = false
      const watch = setInterval(() => {
        if (checking) return
        checking = true
        check().then(
          () => (checking = false),
          (err: unknown) => end(err),
        )
      }, 500)
    })
  }

  /**
   * Starts the holder in the background and waits for its "up" (its record) or its end: a holder
   * that fails hands its exit code and its one-line reason (the last "mqbench: " line of its log)
   * to this process, so that a failed --detach never looks like success.
   */
  private async detach(name: string): Promise<TestbedRecord> {
    const argv = process.argv.slice(1).filter((a) => a !== '--detach' && a !== '--json')
    const log = join(stateDir(), `${name}.log`)
    mkdirSync(stateDir(), {recursive: true})
    const fd = openSync(log, 'a')
    const from = fstatSync(fd).size
    const child = spawn(process.execPath, argv, {detached: true, stdio: ['ignore', fd, fd]})
    closeSync(fd)
    let exited: number | null | undefined
    child.on('exit', (code, signal) => (exited = code ?? (signal ? 128 : 1)))
    child.unref()
    for (let waited = 0; waited < 120_000; waited += 100) {
      // "up": the holder prints its testbed (show()) once it is complete, its server included.
      const up = readFileSync(log, 'utf8').slice(from).includes(`held by process ${child.pid}`)
      const rec = up ? readRecords().find((r) => r.name === name && r.pid === child.pid) : undefined
      if (rec) {
        if (!this.jsonEnabled()) this.show(rec)
        return rec
      }
      if (exited !== undefined) break
      await new Promise((r) => setTimeout(r, 100))
    }
    if (exited === undefined) {
      child.kill('SIGTERM')
      throw new MqbError(
        `the background testbed process did not come up in 120 s; see ${log}`,
        ExitCode.failure,
      )
    }
    const said = readFileSync(log, 'utf8')
      .slice(from)
      .split('\n')
      .filter((l) => l.startsWith('mqbench: '))
      .at(-1)
    // A failure that said why leaves nothing behind: its reason is this process's message. One
    // that did not keeps its log for the person (`testbed down NAME` removes it); so does --keep.
    const keep = !said || argv.includes('--keep')
    if (!keep) rmSync(log, {force: true})
    throw new MqbError(
      said
        ? said.slice('mqbench: '.length)
        : `the background testbed process ended (exit ${exited}); see ${log} (\`mqbench testbed down ${name}\` removes it)`,
      (Object.values(ExitCode) as number[]).includes(exited as number)
        ? (exited as ExitCodeValue)
        : ExitCode.failure,
    )
  }

  private show(rec: TestbedRecord): void {
    this.log(
      `testbed ${rec.name} (${rec.kind}, up to ${plural(rec.maxQueues, 'queue')}), held by process ${rec.pid}`,
    )
    this.log(`  A: ${rec.devA} ${rec.ipA}${rec.nsA ? ` in netns ${rec.nsA}` : ''}`)
    this.log(
      `  B: ${rec.devB} ${rec.ipB}${rec.nsB ? ` in netns ${rec.nsB}` : rec.guest ? ' in the guest' : ''}`,
    )
    if (rec.guest) {
      const g = rec.guest
      this.log(
        `  guest: ${g.kernel.release}, ${g.accel}${g.vhost ? ', vhost' : ''}, ${plural(g.vcpus, 'vCPU')}, ${g.memoryMiB} MiB, ${plural(g.queues, 'queue pair')}, ${plural(g.vectors, 'vector')}; up in ${(g.bootMs / 1000).toFixed(1)} s`,
      )
      this.log(`  console: mqbench testbed console ${rec.name}`)
    }
    if (process.stdout.isTTY) this.log('Ctrl-C removes it')
  }
}
