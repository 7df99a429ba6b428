// Testbeds by kind: one table from a kind to its constructor, the `--testbed` spelling
// (tap | veth | dev:IF), and creation that registers the testbed for `list` and `down`.
import {ExitCode, MqbError, badInput} from '../errors.js'
import {checkTestbedName} from './common.js'
import {createDevTestbed, type DevState} from './dev.js'
import {ownerAlive, readRecords, removeRecord, writeRecord, type TestbedOwner} from './registry.js'
import {createTapTestbed} from './tap.js'
import type {Testbed, TestbedKind, TestbedOptions, TestbedSpec} from './types.js'
import {createVethTestbed} from './veth.js'
import {createVmTestbed, VmBed} from './vm.js'
import {requireCapabilities} from '../host/privileges.js'

export type {QueueReadback, Testbed, TestbedKind, TestbedOptions, TestbedSpec, VmOptions} from './types.js'

type Create = (
  spec: TestbedSpec,
  opts: TestbedOptions & {onSaved?: (s: DevState) => void},
) => Testbed | Promise<Testbed>

export const TESTBED_KINDS: Record<TestbedKind, {create: Create; describe: string}> = {
  tap: {
    create: createTapTestbed,
    describe:
      'two namespaces, multiqueue taps (vnet_hdr + offloads) joined by the mqbench relay, one worker per queue pair',
  },
  veth: {
    create: createVethTestbed,
    describe: 'two namespaces joined by a multiqueue veth pair (count set with ETHTOOL_SCHANNELS)',
  },
  vm: {
    create: createVmTestbed,
    describe:
      'a qemu guest (KVM if usable, else TCG) with a multiqueue virtio-net NIC on a tap in namespace mqb-NAME-h; queue count set in the guest',
  },
  dev: {
    create: createDevTestbed,
    describe: 'a real interface here and `mqbench server` on another host (--server, --token)',
  },
}

/** `tap`, `veth`, `vm` or `dev:IF`. */
export function parseTestbedKind(text: string): {kind: TestbedKind; dev?: string} {
  const m = /^(tap|veth|vm)$|^dev:([\w.@-]{1,15})$/.exec(text.trim())
  if (!m) throw badInput(`testbed '${text}' is not one of tap, veth, vm or dev:IF (e.g. dev:eth1)`)
  return m[1] ? {kind: m[1] as TestbedKind} : {kind: 'dev', dev: m[2]}
}

/**
 * What can be known about a testbed before anything is created: a valid name, not held by a live
 * process, and a queue count. `testbed up --detach` runs it before it starts the background process.
 */
export function checkTestbedSpec(
  name: string,
  maxQueues: number,
  queuesJudgedBy: 'mqbench' | 'qemu' = 'mqbench',
): void {
  checkTestbedName(name)
  if (queuesJudgedBy === 'mqbench' && (!Number.isInteger(maxQueues) || maxQueues < 1))
    throw badInput(`a testbed needs at least 1 queue, not ${maxQueues}`)
  const existing = readRecords().find((r) => r.name === name)
  if (existing && ownerAlive(existing))
    throw new MqbError(
      `testbed ${name} exists already (process ${existing.pid}); pick another name or run \`mqbench testbed down ${name}\``,
      ExitCode.busy,
    )
}

/**
 * Creates a testbed and records it (name, objects, this process as its owner: `owner`, by default
 * a run of `command`) so that `testbed list` shows it and `testbed down` can remove it, also after
 * a SIGKILL. Everything is registered in the cleanup registry as it is created; close() removes it
 * all and the record.
 */
export async function createTestbed(
  spec: TestbedSpec,
  opts: TestbedOptions & {owner: TestbedOwner},
): Promise<Testbed> {
  let devState: DevState | undefined
  const made = await recorded(
    spec,
    opts,
    async () => ({
      testbed: await TESTBED_KINDS[spec.kind].create(spec, {...opts, onSaved: (s) => (devState = s)}),
    }),
    () => devState,
  )
  return made.testbed
}

/**
 * A vm testbed with its guest in reach (VmBed.boot), recorded as createTestbed records any testbed,
 * its queue count checked as any testbed's. `uncheckedQueues` sends the count to qemu as given:
 * check vm's negative_qemu case asks qemu for queues=0 on purpose and judges qemu's own refusal.
 */
export function createVmBed(
  spec: TestbedSpec,
  opts: TestbedOptions & {owner: TestbedOwner; uncheckedQueues?: boolean},
): Promise<VmBed> {
  const judge = opts.uncheckedQueues ? 'qemu' : 'mqbench'
  return recorded({...spec, kind: 'vm'}, opts, () => VmBed.boot(spec, opts), undefined, judge)
}

async function recorded<T extends {testbed: Testbed}>(
  spec: TestbedSpec,
  opts: TestbedOptions & {owner: TestbedOwner},
  create: () => Promise<T>,
  devState: () => DevState | undefined = () => undefined,
  queuesJudgedBy: 'mqbench' | 'qemu' = 'mqbench',
): Promise<T> {
  checkTestbedSpec(spec.name, opts.maxQueues, queuesJudgedBy)
  // Before anything is created: namespaces need CAP_SYS_ADMIN (`ip netns add`, setns), links,
  // taps and channel counts CAP_NET_ADMIN; a real device's testbed makes no namespace.
  requireCapabilities(
    spec.kind === 'dev' ? ['CAP_NET_ADMIN'] : ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'],
    `create a ${spec.kind} testbed`,
  )
  const base = {name: spec.name, kind: spec.kind, pid: process.pid, owner: opts.owner}
  // Claimed before anything is made (a guest boots for seconds): `testbed down --all` leaves a
  // testbed being made by a live run alone, and takes what a killed one left by its name.
  const empty = {nsA: '', nsB: '', devA: '', devB: '', ipA: '', ipB: ''}
  writeRecord({...base, createdAt: new Date().toISOString(), ...empty, maxQueues: opts.maxQueues})
  const unrecord = opts.cleanup.add(`record of testbed ${spec.name}`, () => removeRecord(spec.name))
  let made: T
  try {
    made = await create()
  } catch (err) {
    // Not with --keep: the kept guest is then removed by name (`testbed down NAME`).
    if (!opts.vm?.keep) unrecord()
    throw err
  }
  const tb = made.testbed
  const {nsA, nsB, devA, devB, ipA, ipB, maxQueues} = tb
  writeRecord({
    ...base,
    createdAt: new Date().toISOString(),
    nsA,
    nsB,
    devA,
    devB,
    ipA,
    ipB,
    maxQueues,
    devState: devState(),
    ...(tb.guest ? {guest: tb.guest} : {}),
  })
  const close = tb.close.bind(tb)
  Object.assign(tb, {
    async close() {
      await close()
      unrecord()
    },
  })
  return made
}
