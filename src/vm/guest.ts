// One qemu guest's lifecycle in named phases, as qemu's machine.py has it: what to launch
// (prepareLaunch, then launch.ts's pure describeLaunch), the launch (spawn, QMP, pinning), the
// wait for the agent, then the running guest (watched, rebooted, migrated) and its stop (QMP
// `quit` under a bound, then signals). Start ends when the agent answers hello; it fails at once
// when qemu exits or the guest panics (QMP GUEST_PANICKED, or the console shows a panic before
// pvpanic is loaded), and after a bound otherwise, always with the console's tail.
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExitCode, MqbError} from '../errors.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import {writeFileAtomic} from '../host/files.js'
import type {GuestRecord} from '../results/schema.js'
export type {GuestOptions} from './launch.js'
import {AgentClient, AgentError} from './agent-client.js'
import type {AgentHello} from './agent-ops.js'
import {chooseAccel} from './accel.js'
import {BOOT_MARK, buildInitramfs, type Initramfs} from './initramfs.js'
import {chooseKernel, type GuestKernel} from './kernel.js'
import {findAgent, findBusybox, findQemu, qemuVersion} from './prereqs.js'
import {processStartTime, stopProcess, type ProcessRef} from '../host/process.js'
import {QmpClient} from './qmp.js'
import {guestPaths, nicQueueModel, qemuArgs, type GuestConfig} from './qemu-args.js'
import {shellQuote} from '../util/shell.js'
import {
  bootBoundMs,
  describeLaunch,
  type GuestOptions,
  type LaunchDescription,
  type LaunchInputs,
} from './launch.js'
import {onlineCpus} from '../host/cpus.js'
import {pinVcpus, readVcpuPlacement, type VcpuPlacement} from './vcpu-pinning.js'

/** What the results file records about the guest (results/schema.ts GuestRecord). */
export type GuestSetup = GuestRecord

// The kernel's own panic, or its decompressor giving up on a damaged image (it halts, no panic line).
const PANIC = /Kernel panic - not syncing[^\n]*|[^\n]*-- System halted/

const RESET_BURST_MS = 1000

/** How long a guest is given to exit after QMP `quit` before it is signalled. */
const QUIT_BOUND_MS = 5000

/** The last `n` lines of the console log, without carriage returns. */
export function consoleTail(dir: string, n = 20): string {
  try {
    const lines = readFileSync(guestPaths(dir).consoleLog, 'utf8').replaceAll('\r', '').trimEnd().split('\n')
    return lines.slice(-n).join('\n')
  } catch {
    return '(no console output)'
  }
}

export function parseBootMarks(console: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const m of console.matchAll(new RegExp(`^${BOOT_MARK} (\\w+) ([\\d.]+)`, 'gm')))
    out[m[1]] = Number(m[2])
  return out
}

/** The record another process needs to stop this guest after a SIGKILL of its owner. */
export const qemuRecordPath = (dir: string) => join(dir, 'qemu.json')

export function readQemuRecord(dir: string): ProcessRef | undefined {
  try {
    return JSON.parse(readFileSync(qemuRecordPath(dir), 'utf8')) as ProcessRef
  } catch {
    return undefined
  }
}

/** What Guest.reboot() saw. */
export interface RebootObservation {
  how: 'reset' | 'guest'
  /** from the request to qemu's RESET event, ms */
  resetMs: number
  /** from the request to the agent's hello, ms */
  backMs: number
  hello: AgentHello
  /** RESET events during the reboot (a burst: qemu's, then the firmware's) */
  resets: number
  /** the guest's boot marks printed after the reset (seconds of guest uptime) */
  bootMarks: Record<string, number>
  /** times the agent channel has been (re)established so far */
  agentConnections: number
  /** vCPU pinning applied again */
  vcpuCpus?: number[]
}

export class Guest {
  private exitInfo?: string
  private panicked?: string
  /** RESET events since boot: reboots, asked for or by the guest itself */
  resets = 0
  /** live migrations this guest went through (adopt()) */
  migrations = 0
  /** lines for the person about how the guest was set up (a vCPU count chosen for TCG) */
  readonly notes: string[] = []
  private launch?: {qemu: string; cfg: GuestConfig; netns: string; name: string}
  /** stops of migration destinations not adopted (yet): they go with the guest */
  private readonly incoming = new Set<() => void>()
  private readonly pendingIncoming = new Map<
    IncomingQemu,
    {q: QemuProcess; removeDir: () => void; stop: () => void}
  >()
  private readonly movedListeners: Array<(m: {ref: ProcessRef; tap: string; dir: string}) => void> = []

  private constructor(
    private _dir: string,
    private _proc: ChildProcess,
    private _ref: ProcessRef,
    private _qmp: QmpClient,
    readonly agent: AgentClient,
    readonly setup: GuestSetup,
    private undoQemu: () => void,
    private removeDir: () => void,
  ) {}

  /** The scratch directory, process and QMP of the qemu that runs the guest now (after a migration: the destination's). */
  get dir(): string {
    return this._dir
  }
  get proc(): ChildProcess {
    return this._proc
  }
  get ref(): ProcessRef {
    return this._ref
  }
  get qmp(): QmpClient {
    return this._qmp
  }

  /**
   * Starts a guest in phases: what to launch (prepareLaunch, then describeLaunch in launch.ts, pure),
   * the launch (qemu in `opts.netns`, QMP, vCPU pinning) and the wait for the agent. Everything it
   * creates is registered with `undo` at once; on failure it is all removed before the throw,
   * unless `keep` (then the error names the command that removes it).
   */
  static async start(
    opts: GuestOptions,
    undo: CleanupRegistry,
    hooks: {keep?: boolean} = {},
  ): Promise<Guest> {
    const inputs = await prepareLaunch(opts, undo)
    let launch: LaunchDescription
    try {
      launch = describeLaunch(opts, inputs.found)
    } catch (err) {
      inputs.removeDir()
      throw err
    }
    const t0 = performance.now()
    const b = new Booting(opts, inputs.removeDir, hooks.keep === true)
    const {vectors, vcpuCpus} = await b.launch(launch, undo)
    const hello = await b.waitForAgent(launch, inputs.found.kernel)
    const {q, qmp, agent} = b.running()
    const {kernel, image} = inputs.found
    const setup: GuestSetup = {
      qemuVersion: qmp.version || qemuVersion(launch.qemu),
      commandLine: launch.commandLine,
      kernel: {path: kernel.path, release: kernel.release},
      accel: launch.cfg.accel,
      accelReason: inputs.found.accel.reason,
      vhost: launch.vhost,
      mac: opts.mac,
      vcpus: launch.vcpus.vcpus,
      ...(vcpuCpus ? {vcpuCpus} : {}),
      memoryMiB: opts.memoryMiB,
      queues: opts.queues,
      vectors,
      initramfs: {key: image.key, modules: image.modules, sizeBytes: image.sizeBytes, cached: image.cached},
      agent: hello,
      bootMs: Math.round(performance.now() - t0),
      bootMarks: parseBootMarks(safeRead(guestPaths(opts.dir).consoleLog).replaceAll('\r', '')),
    }
    const g = new Guest(opts.dir, q.proc, q.ref, qmp, agent, setup, q.undo, inputs.removeDir)
    if (launch.vcpus.note) g.notes.push(launch.vcpus.note)
    g.launch = {qemu: launch.qemu, cfg: launch.cfg, netns: opts.netns, name: opts.name}
    g.watch(q, qmp)
    return g
  }

  /** Follows a qemu process and its QMP: its exit, a panic, resets (the source's, then a destination's). */
  private watch(q: QemuProcess, qmp: QmpClient): void {
    q.proc.on('exit', () => {
      if (this._proc === q.proc) this.exitInfo = q.exited()
    })
    qmp.onEvent((e) => {
      if (this._qmp !== qmp) return
      if (e.event === 'GUEST_PANICKED') this.panicked = 'the guest kernel panicked'
      if (e.event === 'RESET') this.resets++
    })
  }

  /**
   * Starts the destination of a live migration: a second qemu with this guest's device model
   * (the same command line, with `config` changes for tests that need a mismatch) on its own tap
   * and scratch directory, waiting on `-incoming unix:DIR/migrate.sock`, its vCPUs pinned as this
   * guest's (setup.vcpuCpus). It is registered with `undo` and stopped with this guest (stop())
   * until adopt() makes it the guest.
   */
  async startIncoming(o: {
    tap: string
    dir: string
    undo: CleanupRegistry
    config?: Partial<Pick<GuestConfig, 'queues' | 'vectors' | 'mq' | 'memoryMiB'>>
  }): Promise<IncomingQemu> {
    this.checkAlive()
    if (!this.launch) throw new Error('this guest was not started by Guest.start')
    const {qemu, cfg, netns, name} = this.launch
    mkdirSync(o.dir, {recursive: true, mode: 0o700})
    const removeDir = o.undo.add(`guest scratch directory ${o.dir}`, () =>
      rmSync(o.dir, {recursive: true, force: true}),
    )
    const uri = `unix:${join(o.dir, 'migrate.sock')}`
    const dcfg: GuestConfig = {...cfg, ...o.config, tap: o.tap, dir: o.dir, incoming: uri}
    let q: QemuProcess
    try {
      q = spawnQemu(qemu, qemuArgs(dcfg), netns, o.dir, `qemu migration destination of ${name}`, o.undo)
    } catch (err) {
      removeDir()
      throw err
    }
    const stop = () => {
      q.undo()
      removeDir()
    }
    this.incoming.add(stop)
    let qmp: QmpClient
    try {
      qmp = await QmpClient.connect(guestPaths(o.dir).qmp, {timeoutMs: 10_000, alive: q.alive})
    } catch {
      const why = q.exited() ? q.error() : 'no QMP greeting within 10 s'
      this.incoming.delete(stop)
      stop()
      throw new MqbError(`the migration destination did not come up: ${why}`, ExitCode.unsupported)
    }
    // Its vCPU threads exist already (paused, inmigrate) and keep their ids across the switch-over:
    // pinned now as the source's were at boot, the guest never runs unpinned on the destination.
    let vcpuCpus: number[] | undefined
    if (this.setup.vcpuCpus) {
      try {
        vcpuCpus = await pinVcpus(qmp, this.setup.vcpuCpus)
      } catch (err) {
        qmp.close()
        this.incoming.delete(stop)
        stop()
        throw err
      }
    }
    const inc: IncomingQemu = {
      dir: o.dir,
      tap: o.tap,
      uri,
      qmp,
      ref: q.ref,
      commandLine: shellQuote([qemu, ...qemuArgs(dcfg)]),
      ...(vcpuCpus ? {vcpuCpus} : {}),
      exited: q.exited,
      error: q.error,
      stop: () => {
        this.incoming.delete(stop)
        this.pendingIncoming.delete(inc)
        qmp.close()
        stop()
      },
    }
    this.pendingIncoming.set(inc, {q, removeDir, stop})
    return inc
  }

  /**
   * Makes a destination that completed an incoming migration this guest: QMP, the process, the
   * scratch directory and the agent channel (retarget: requests in flight are asked again there)
   * move to it, then the source qemu is stopped and its directory removed. Afterwards every
   * method of this object acts on the destination.
   */
  adopt(inc: IncomingQemu): void {
    const parts = this.pendingIncoming.get(inc)
    if (!parts) throw new Error('adopt() takes a destination this guest started')
    this.pendingIncoming.delete(inc)
    this.incoming.delete(parts.stop)
    const old = {qmp: this._qmp, undoQemu: this.undoQemu, removeDir: this.removeDir}
    this._dir = inc.dir
    this._proc = parts.q.proc
    this._ref = parts.q.ref
    this._qmp = inc.qmp
    this.undoQemu = parts.q.undo
    this.removeDir = parts.removeDir
    this.watch(parts.q, inc.qmp)
    if (parts.q.exited()) this.exitInfo = parts.q.exited()
    this.agent.retarget(guestPaths(inc.dir).agent, parts.q.alive)
    old.qmp.close()
    old.undoQemu()
    old.removeDir()
    this.migrations++
    for (const f of this.movedListeners) f({ref: inc.ref, tap: inc.tap, dir: inc.dir})
  }

  /** Called after adopt() with the new qemu, tap and directory (the testbed follows the guest). */
  onMoved(f: (m: {ref: ProcessRef; tap: string; dir: string}) => void): void {
    this.movedListeners.push(f)
  }

  /**
   * Reboots the guest and waits until its agent answers `hello` again: `reset` is QMP
   * `system_reset` (a hardware reset), `guest` the guest's own `reboot -f` through the agent.
   * The RESET event is awaited before asking for the agent, so that the old agent can never
   * answer for the new one; then the agent channel is reconnected (the guest sees the host
   * leave and drops any frame cut short by the reset). What boot applied from the host is applied
   * again (vCPU pinning); the guest's addresses come from its kernel command line. The NIC comes
   * back with its boot-time channels (min(queues, vCPUs)): a caller that changed them sets them
   * again. Fails like boot (console tail; exit 8 for a panic, qemu's exit or a reset loop, exit 5
   * when the agent does not answer within the bound).
   */
  async reboot(opts: {how?: 'reset' | 'guest'; timeoutMs?: number} = {}): Promise<RebootObservation> {
    this.checkAlive()
    const how = opts.how ?? 'reset'
    const boundMs = opts.timeoutMs ?? bootBoundMs(this.setup.accel)
    const logPath = guestPaths(this.dir).consoleLog
    const consoleFrom = safeRead(logPath).length
    const resetsBefore = this.resets
    let resetAt: number | undefined
    // A reset comes as a burst of RESET events (qemu's, then the firmware's own guest-reset some
    // 30 ms later); one well after the burst is the new kernel failing to start.
    let resetAgain: number | undefined
    const offReset = this.qmp.onEvent((e) => {
      if (e.event !== 'RESET') return
      const now = performance.now()
      resetAt ??= now
      if (now - resetAt > RESET_BURST_MS) resetAgain ??= now - resetAt
    })
    const fail = (message: string, code: number): never => {
      const tail = consoleTail(this.dir, 15)
      throw new MqbError(
        `${message}\n--- last lines of the guest console ---\n${tail}`,
        code as MqbError['exitCode'],
      )
    }
    const t0 = performance.now()
    const deadline = Date.now() + boundMs
    /** Polls until `done()` while watching qemu, the console and the reset count. */
    const watch = async (done: () => boolean, what: string): Promise<void> => {
      while (!done()) {
        if (this.exitInfo)
          fail(`qemu exited while the guest rebooted (${this.exitInfo})`, ExitCode.unsupported)
        if (this.panicked) fail(`${this.panicked} while rebooting`, ExitCode.unsupported)
        const panicLine = PANIC.exec(safeRead(logPath).slice(consoleFrom))
        if (panicLine)
          fail(`the guest kernel panicked while rebooting: ${panicLine[0]}`, ExitCode.unsupported)
        if (resetAgain !== undefined)
          fail(
            `the guest reset again ${(resetAgain / 1000).toFixed(1)} s into its reboot: its kernel cannot start`,
            ExitCode.unsupported,
          )
        if (Date.now() > deadline)
          fail(
            `the guest did not come back within ${boundMs / 1000} s of a ${how} (${what})`,
            ExitCode.noDevice,
          )
        await sleep(50)
      }
    }
    try {
      let asked: Promise<unknown> = Promise.resolve()
      if (how === 'reset') await this.qmp.execute('system_reset')
      // The answer never comes when the reboot is quick: the reset is what is awaited.
      else asked = this.agent.exec(['reboot', '-f'], 5000, {timeoutMs: 2000, retries: 0}).catch(() => {})
      await watch(() => resetAt !== undefined, 'no RESET event')
      // Settled (by its 2 s timeout) before the reconnect, which would send it again to the new agent.
      await asked
      this.agent.dropConnection()
      let answer: {h?: AgentHello; err?: Error} | undefined
      void this.agent
        .waitReady(Math.max(1000, deadline - Date.now()), () => !this.exitInfo)
        .then(
          (h) => (answer = {h}),
          (err: Error) => (answer = {err}),
        )
      await watch(() => answer !== undefined, 'its agent never answered')
      if (!answer?.h)
        return fail(
          `the guest agent did not answer after a ${how}: ${answer?.err?.message}`,
          ExitCode.noDevice,
        )
      const backMs = Math.round(performance.now() - t0)
      const vcpuCpus = this.setup.vcpuCpus ? await pinVcpus(this.qmp, this.setup.vcpuCpus) : undefined
      return {
        how,
        resetMs: Math.round(resetAt! - t0),
        backMs,
        hello: answer.h,
        resets: this.resets - resetsBefore,
        bootMarks: parseBootMarks(safeRead(logPath).slice(consoleFrom).replaceAll('\r', '')),
        agentConnections: this.agent.connections,
        ...(vcpuCpus ? {vcpuCpus} : {}),
      }
    } finally {
      offReset()
    }
  }

  /** Each vCPU thread of the qemu that runs the guest now and the host CPUs it may run on (/proc). */
  vcpuPlacement(): Promise<VcpuPlacement[]> {
    return readVcpuPlacement(this.qmp, this.ref.pid)
  }

  /** Throws (exit 11) when qemu has exited or the guest panicked since boot. */
  checkAlive(): void {
    const why = this.exitInfo ? `qemu exited (${this.exitInfo})` : this.panicked
    if (why)
      throw new MqbError(
        `the guest stopped: ${why}; last console lines: ${consoleTail(this.dir, 5).replaceAll('\n', ' | ')}`,
        ExitCode.partial,
      )
  }

  /**
   * Stops the guest in phases: QMP `quit` and up to `boundMs` for qemu to exit by itself (it
   * closes its files and the tap's queues in order), then signals (the undo entry: SIGTERM, then
   * SIGKILL) for a qemu that did not, and the scratch directory goes.
   */
  async stop(boundMs = QUIT_BOUND_MS): Promise<void> {
    this.agent.close()
    await this.quit(boundMs)
    this.qmp.close()
    this.undoQemu()
    this.removeDir()
    // A migration destination not adopted (a migration that failed or was cut short) goes too.
    for (const stopIncoming of [...this.incoming]) stopIncoming()
    this.incoming.clear()
    for (const inc of this.pendingIncoming.keys()) inc.qmp.close()
    this.pendingIncoming.clear()
  }

  /** QMP `quit`, then waits up to `boundMs` for qemu's exit; a qemu gone already is left alone. */
  private async quit(boundMs: number): Promise<void> {
    const proc = this._proc
    if (this.exitInfo || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, boundMs)
      proc.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    // qemu may exit before it answers: the exit is what is awaited.
    this.qmp.execute('quit', undefined, boundMs).catch(() => {})
    await exited
  }
}

/**
 * What a launch needs from the host: qemu, busybox and the agent found, the kernel chosen, the
 * scratch directory made (its undo returned), the initramfs built and the accelerator chosen.
 */
async function prepareLaunch(
  opts: GuestOptions,
  undo: CleanupRegistry,
): Promise<{found: LaunchInputs; removeDir: () => void}> {
  const qemu = findQemu()
  const busybox = findBusybox()
  const agent = findAgent()
  const kernel: GuestKernel = chooseKernel(opts.kernel)
  mkdirSync(opts.dir, {recursive: true, mode: 0o700})
  const removeDir = undo.add(`guest scratch directory ${opts.dir}`, () =>
    rmSync(opts.dir, {recursive: true, force: true}),
  )
  const image: Initramfs = buildInitramfs({kernel, busybox, agent})
  const accel = await chooseAccel(opts.accel, kernel, opts.dir)
  return {
    found: {
      qemu,
      kernel,
      image,
      accel,
      hostCpus: onlineCpus().length,
      vhostNet: existsSync('/dev/vhost-net'),
    },
    removeDir,
  }
}

/**
 * A guest being started: the launch and the wait for its agent, and what either made so far, so
 * that a failure in any phase removes it all (unless kept) and says why with the console's tail.
 */
class Booting {
  private q?: QemuProcess
  private qmp?: QmpClient
  private agent?: AgentClient

  constructor(
    private readonly opts: GuestOptions,
    private readonly removeDir: () => void,
    private readonly keep: boolean,
  ) {}

  /** The parts of a guest that came up (after waitForAgent). */
  running(): {q: QemuProcess; qmp: QmpClient; agent: AgentClient} {
    if (!this.q || !this.qmp || !this.agent) throw new Error('the guest has not come up')
    return {q: this.q, qmp: this.qmp, agent: this.agent}
  }

  /**
   * Spawns qemu, connects QMP, reads the vectors qemu gave the NIC and pins the vCPUs. The agent
   * client is made here (its socket exists once qemu runs) and answers in waitForAgent.
   */
  async launch(l: LaunchDescription, undo: CleanupRegistry): Promise<{vectors: number; vcpuCpus?: number[]}> {
    const {opts} = this
    try {
      this.q = spawnQemu(l.qemu, l.args, opts.netns, opts.dir, `qemu guest ${opts.name}`, undo)
    } catch (err) {
      this.removeDir()
      throw err
    }
    const q = this.q
    this.agent = new AgentClient(guestPaths(opts.dir).agent, {alive: q.alive})
    try {
      this.qmp = await QmpClient.connect(guestPaths(opts.dir).qmp, {timeoutMs: 10_000, alive: q.alive})
    } catch {
      return this.fail(
        `qemu did not come up: ${q.exited() ? q.error() : 'no QMP greeting within 10 s'}`,
        ExitCode.unsupported,
      )
    }
    // What qemu gave the NIC, its own default included (qemu 7.2: 2N+2 also for one queue pair):
    // the model knows only the vectors mqbench asked for.
    const asked = nicQueueModel(l.cfg).vectors ?? 0
    const vectors = await this.qmp
      .execute<number>('qom-get', {path: '/machine/peripheral/nic0', property: 'vectors'})
      .then(
        (v) => (Number.isInteger(v) ? v : asked),
        () => asked,
      )
    if (!opts.vcpuCpus?.length) return {vectors}
    try {
      return {vectors, vcpuCpus: await pinVcpus(this.qmp, opts.vcpuCpus)}
    } catch (err) {
      return this.fail((err as Error).message, ExitCode.badInput)
    }
  }

  /**
   * Waits for the agent's hello within the boot bound, failing at once when qemu exits or the
   * guest panics (QMP GUEST_PANICKED, a reset during boot, or a panic on the console before
   * pvpanic is loaded).
   */
  async waitForAgent(l: LaunchDescription, kernel: GuestKernel): Promise<AgentHello> {
    const {q, qmp, agent} = this.running()
    let panicked: string | undefined
    // Only while booting: after that a RESET is a reboot, which Guest.reboot() expects and the
    // guest's own `reboot` may cause.
    const offBootWatch = qmp.onEvent((e) => {
      if (e.event === 'GUEST_PANICKED') panicked = 'the guest kernel panicked (pvpanic)'
      // Nothing reboots during boot: a reset now is a kernel that cannot start (a damaged or
      // foreign image triple-faults and qemu resets it, over and over).
      if (e.event === 'RESET' && e.data?.guest !== false)
        panicked = `the guest reset during boot: ${kernel.path} is not a kernel this machine can start`
    })
    try {
      let answer: {h?: AgentHello; err?: Error} | undefined
      void agent.waitReady(l.bootMs, q.alive).then(
        (h) => (answer = {h}),
        (err: Error) => (answer = {err}),
      )
      const deadline = Date.now() + l.bootMs
      const consoleLog = guestPaths(this.opts.dir).consoleLog
      while (!answer) {
        if (q.exited())
          return this.fail(`qemu exited during boot (${q.exited()}): ${q.error()}`, ExitCode.unsupported)
        if (panicked) return this.fail(panicked, ExitCode.unsupported)
        const panicLine = PANIC.exec(safeRead(consoleLog))
        if (panicLine) return this.fail(`the guest kernel panicked: ${panicLine[0]}`, ExitCode.unsupported)
        if (Date.now() > deadline + 2000) break
        await sleep(50)
      }
      if (answer?.h) return answer.h
      const why = answer?.err instanceof AgentError && answer.err.answered ? answer.err.message : undefined
      return this.fail(
        why ??
          `the guest did not come up within ${l.bootMs / 1000} s (${l.cfg.accel}): its agent never answered`,
        ExitCode.noDevice,
      )
    } finally {
      offBootWatch()
    }
  }

  /** Removes what the boot made (unless kept) and throws `message` with the console's tail. */
  private fail(message: string, code: number): never {
    const {opts} = this
    this.agent?.close()
    this.qmp?.close()
    const tail = consoleTail(opts.dir, 15)
    if (!this.keep) {
      this.q?.undo()
      this.removeDir()
    }
    const keepHint = this.keep
      ? ` (kept for inspection: console ${guestPaths(opts.dir).console}; remove with \`mqbench testbed down ${opts.name}\`)`
      : ''
    const shown = tail.trim()
      ? `\n--- last lines of the guest console ---\n${tail}`
      : ' (the guest printed nothing)'
    throw new MqbError(`${message}${keepHint}${shown}`, code as MqbError['exitCode'])
  }
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'latin1')
  } catch {
    return ''
  }
}

/** A second qemu waiting for a migration (Guest.startIncoming). */
export interface IncomingQemu {
  dir: string
  tap: string
  /** the URI it listens on (QMP migrate's uri) */
  uri: string
  qmp: QmpClient
  ref: ProcessRef
  commandLine: string
  /** the host CPU of each vCPU, pinned before the switch-over as the guest's (setup.vcpuCpus) */
  vcpuCpus?: number[]
  /** why it exited, undefined while it runs */
  exited(): string | undefined
  /** its last stderr line (qemu's reason for a failed incoming migration) */
  error(): string
  /** stops it and removes its directory (not needed after adopt()) */
  stop(): void
}

interface QemuProcess {
  proc: ChildProcess
  ref: ProcessRef
  undo: () => void
  alive: () => boolean
  exited: () => string | undefined
  error: () => string
}

/**
 * Starts qemu (in `netns`) with its stderr in DIR/qemu.stderr and its pid record in DIR/qemu.json
 * (for `testbed down` after a SIGKILL), registered with `undo` at once.
 */
function spawnQemu(
  qemu: string,
  args: string[],
  netns: string,
  dir: string,
  label: string,
  undo: CleanupRegistry,
): QemuProcess {
  const errFile = join(dir, 'qemu.stderr')
  const errFd = openSync(errFile, 'w')
  // Its own process group: a terminal's Ctrl-C reaches mqbench, which then stops qemu in order.
  const argv = netns ? ['netns', 'exec', netns, qemu, ...args] : args
  const proc = spawn(netns ? 'ip' : qemu, argv, {stdio: ['ignore', 'ignore', errFd], detached: true})
  closeSync(errFd)
  let exited: string | undefined
  proc.on('exit', (code, signal) => (exited = signal ? `killed by ${signal}` : `exit status ${code}`))
  proc.on('error', (err) => (exited = err.message))
  const startTime = proc.pid ? processStartTime(proc.pid) : undefined
  if (!proc.pid || startTime === undefined)
    throw new MqbError(
      `cannot start ${qemu}: ${exited ?? readFileSync(errFile, 'utf8').trim()}`,
      ExitCode.failure,
    )
  const ref: ProcessRef = {pid: proc.pid, startTime}
  const stop = undo.add(`${label} (pid ${ref.pid})`, () => stopProcess(ref))
  try {
    writeFileAtomic(qemuRecordPath(dir), JSON.stringify(ref))
  } catch (err) {
    // Without its record `testbed down` could not find this qemu after a SIGKILL: stop it now.
    stop()
    throw err
  }
  return {
    proc,
    ref,
    undo: stop,
    alive: () => exited === undefined,
    exited: () => exited,
    error: () => {
      const e = safeRead(errFile).trim().split('\n').filter(Boolean)
      return e.at(-1) ?? exited ?? 'exited'
    },
  }
}
