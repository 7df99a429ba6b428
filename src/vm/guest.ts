// One qemu guest: built, started, watched and stopped. Boot ends when the agent answers hello;
// it fails at once when qemu exits or the guest panics (QMP GUEST_PANICKED, or the console shows
// a panic before pvpanic is loaded), and after a bound otherwise, always with the console's tail.
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {ExitCode, MqbError} from '../errors.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import {writeFileAtomic} from '../host/files.js'
import type {GuestRecord} from '../results/schema.js'
import {AgentClient, AgentError} from './agent-client.js'
import type {AgentHello} from './agent-ops.js'
import {chooseAccel, type AccelChoice} from './accel.js'
import {BOOT_MARK, buildInitramfs, type Initramfs} from './initramfs.js'
import {chooseKernel, type GuestKernel} from './kernel.js'
import {findAgent, findBusybox, findQemu, qemuVersion} from './prereqs.js'
import {processStartTime, stopProcess, type ProcessRef} from '../host/process.js'
import {QmpClient} from './qmp.js'
import {guestPaths, nicQueueModel, qemuArgs, type GuestConfig} from './qemu-args.js'
import {shellQuote} from '../util/shell.js'
import {onlineCpus} from '../host/cpus.js'
import {chooseVcpus, type VcpuChoice} from './vcpus.js'
import {pinVcpus, readVcpuPlacement, type VcpuPlacement} from './vcpu-pinning.js'

export interface GuestOptions {
  name: string
  /** the namespace qemu runs in, holding the tap */
  netns: string
  tap: string
  mac: string
  /** the guest's eth0 address with prefix */
  guestCidr: string
  queues: number
  /** undefined: chosen by chooseVcpus (vcpus.ts) once the accelerator is known */
  vcpus?: number
  memoryMiB: number
  kernel?: string
  accel: AccelChoice
  /** the scratch directory: sockets, console log, qemu.json; removed at the end */
  dir: string
  bootTimeoutMs?: number
  /** host CPUs the vCPU threads are pinned to (vCPU i on the (i mod n)-th); none = unpinned */
  vcpuCpus?: number[]
  /** test-plan variants of the NIC (qemu-args.ts GuestConfig) and extra kernel parameters */
  mq?: boolean
  vectors?: number
  append?: string[]
  /** more NICs like the first, each on its own tap (qemu-args.ts GuestConfig.extraNics) */
  extraNics?: GuestConfig['extraNics']
}

/** What the results file records about the guest (results/schema.ts GuestRecord). */
export type GuestSetup = GuestRecord

// The kernel's own panic, or its decompressor giving up on a damaged image (it halts, no panic line).
const PANIC = /Kernel panic - not syncing[^\n]*|[^\n]*-- System halted/

const RESET_BURST_MS = 1000

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
   * Builds the initramfs, starts qemu in `opts.netns` and waits for the agent. Everything it
   * creates is registered with `undo` at once; on failure it is all removed before the throw,
   * unless `keep` (then the error names the command that removes it).
   */
  static async boot(opts: GuestOptions, undo: CleanupRegistry, hooks: {keep?: boolean} = {}): Promise<Guest> {
    const qemu = findQemu()
    const busybox = findBusybox()
    const agentBin = findAgent()
    const kernel: GuestKernel = chooseKernel(opts.kernel)
    mkdirSync(opts.dir, {recursive: true, mode: 0o700})
    const removeDir = undo.add(`guest scratch directory ${opts.dir}`, () =>
      rmSync(opts.dir, {recursive: true, force: true}),
    )
    const image: Initramfs = buildInitramfs({kernel, busybox, agent: agentBin})
    const accel = await chooseAccel(opts.accel, kernel, opts.dir)
    let vcpuChoice: VcpuChoice
    try {
      vcpuChoice = chooseVcpus({
        requested: opts.vcpus,
        queues: opts.queues,
        accel: accel.accel,
        hostCpus: onlineCpus().length,
      })
    } catch (err) {
      removeDir()
      throw err
    }
    const vhost = accel.accel === 'kvm' && existsSync('/dev/vhost-net')
    const cfg: GuestConfig = {
      name: opts.name,
      kernel: kernel.path,
      initrd: image.path,
      append: [`mqb.ip=${opts.guestCidr}`, `mqb.hostname=mqb-${opts.name}`, ...(opts.append ?? [])],
      accel: accel.accel,
      vcpus: vcpuChoice.vcpus,
      memoryMiB: opts.memoryMiB,
      queues: opts.queues,
      tap: opts.tap,
      mac: opts.mac,
      vhost,
      dir: opts.dir,
      mq: opts.mq,
      vectors: opts.vectors,
      ...(opts.extraNics?.length ? {extraNics: opts.extraNics} : {}),
    }
    const args = qemuArgs(cfg)
    const paths = guestPaths(opts.dir)
    const t0 = performance.now()
    let q: QemuProcess
    try {
      q = spawnQemu(qemu, args, opts.netns, opts.dir, `qemu guest ${opts.name}`, undo)
    } catch (err) {
      removeDir()
      throw err
    }
    const {proc, ref, undo: undoQemu, alive, error: qemuError} = q
    const exitedNow = () => q.exited()

    let qmp: QmpClient | undefined
    const agent = new AgentClient(paths.agent, {alive})
    const fail = (message: string, code: number): never => {
      agent.close()
      qmp?.close()
      const tail = consoleTail(opts.dir, 15)
      if (!hooks.keep) {
        undoQemu()
        removeDir()
      }
      const keepHint = hooks.keep
        ? ` (kept for inspection: console ${paths.console}; remove with \`mqbench testbed down ${opts.name}\`)`
        : ''
      const shown = tail.trim()
        ? `\n--- last lines of the guest console ---\n${tail}`
        : ' (the guest printed nothing)'
      throw new MqbError(`${message}${keepHint}${shown}`, code as MqbError['exitCode'])
    }
    const bootMs = opts.bootTimeoutMs ?? (accel.accel === 'kvm' ? 20_000 : 60_000)
    try {
      qmp = await QmpClient.connect(paths.qmp, {timeoutMs: 10_000, alive})
    } catch {
      return fail(
        `qemu did not come up: ${exitedNow() ? qemuError() : 'no QMP greeting within 10 s'}`,
        ExitCode.unsupported,
      )
    }
    // What qemu gave the NIC, its own default included (qemu 7.2: 2N+2 also for one queue pair):
    // the model knows only the vectors mqbench asked for.
    const vectors = await qmp
      .execute<number>('qom-get', {path: '/machine/peripheral/nic0', property: 'vectors'})
      .then(
        (v) => (Number.isInteger(v) ? v : (nicQueueModel(cfg).vectors ?? 0)),
        () => nicQueueModel(cfg).vectors ?? 0,
      )
    let vcpuCpus: number[] | undefined
    if (opts.vcpuCpus?.length) {
      try {
        vcpuCpus = await pinVcpus(qmp, opts.vcpuCpus)
      } catch (err) {
        return fail((err as Error).message, ExitCode.badInput)
      }
    }
    let panicked: string | undefined
    // Only while booting (removed once the agent answers): after that a RESET is a reboot, which
    // Guest.reboot() expects and the guest's own `reboot` may cause.
    const offBootWatch = qmp.onEvent((e) => {
      if (e.event === 'GUEST_PANICKED') panicked = 'the guest kernel panicked (pvpanic)'
      // Nothing reboots during boot: a reset now is a kernel that cannot start (a damaged or
      // foreign image triple-faults and qemu resets it, over and over).
      if (e.event === 'RESET' && e.data?.guest !== false)
        panicked = `the guest reset during boot: ${kernel.path} is not a kernel this machine can start`
    })
    const hello = agent.waitReady(bootMs, alive).then(
      (h) => ({h}),
      (err: Error) => ({err}),
    )
    const deadline = Date.now() + bootMs
    let answer: {h?: AgentHello; err?: Error} | undefined
    void hello.then((a) => (answer = a))
    while (!answer) {
      if (exitedNow())
        return fail(`qemu exited during boot (${exitedNow()}): ${qemuError()}`, ExitCode.unsupported)
      if (panicked) return fail(panicked, ExitCode.unsupported)
      const panicLine = PANIC.exec(safeRead(paths.consoleLog))
      if (panicLine) return fail(`the guest kernel panicked: ${panicLine[0]}`, ExitCode.unsupported)
      if (Date.now() > deadline + 2000) break
      await sleep(50)
    }
    if (!answer?.h) {
      const why = answer?.err instanceof AgentError && answer.err.answered ? answer.err.message : undefined
      return fail(
        why ??
          `the guest did not come up within ${bootMs / 1000} s (${accel.accel}): its agent never answered`,
        ExitCode.noDevice,
      )
    }
    const setup: GuestSetup = {
      qemuVersion: qmp.version || qemuVersion(qemu),
      commandLine: shellQuote([qemu, ...args]),
      kernel: {path: kernel.path, release: kernel.release},
      accel: accel.accel,
      accelReason: accel.reason,
      vhost,
      mac: opts.mac,
      vcpus: vcpuChoice.vcpus,
      ...(vcpuCpus ? {vcpuCpus} : {}),
      memoryMiB: opts.memoryMiB,
      queues: opts.queues,
      vectors,
      initramfs: {key: image.key, modules: image.modules, sizeBytes: image.sizeBytes, cached: image.cached},
      agent: answer.h,
      bootMs: Math.round(performance.now() - t0),
      bootMarks: parseBootMarks(safeRead(paths.consoleLog).replaceAll('\r', '')),
    }
    offBootWatch()
    const g = new Guest(opts.dir, proc, ref, qmp, agent, setup, undoQemu, removeDir)
    if (vcpuChoice.note) g.notes.push(vcpuChoice.note)
    g.launch = {qemu, cfg, netns: opts.netns, name: opts.name}
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
    if (!this.launch) throw new Error('this guest was not started by Guest.boot')
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
    const boundMs = opts.timeoutMs ?? (this.setup.accel === 'kvm' ? 20_000 : 60_000)
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

  /** Stops qemu and removes the scratch directory (both through their undo entries). */
  stop(): void {
    this.agent.close()
    this.qmp.close()
    this.undoQemu()
    this.removeDir()
    // A migration destination not adopted (a migration that failed or was cut short) goes too.
    for (const stopIncoming of [...this.incoming]) stopIncoming()
    this.incoming.clear()
    for (const inc of this.pendingIncoming.keys()) inc.qmp.close()
    this.pendingIncoming.clear()
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
