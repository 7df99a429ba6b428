// The first phase of a guest's lifecycle (guest.ts), as qemu's machine.py has it: what will be
// launched, described without side effects from the options and what the host offers (the qemu
// binary, the kernel, the initramfs built for it, the accelerator chosen, the host's CPUs). The
// launch (spawn, QMP, pinning) and the wait for the agent come after it; this part is unit-tested
// without qemu.
import type {AccelDecision, AccelChoice} from './accel.js'
import type {Initramfs} from './initramfs.js'
import type {GuestKernel} from './kernel.js'
import {qemuArgs, type GuestConfig} from './qemu-args.js'
import {chooseVcpus, type VcpuChoice} from './vcpus.js'
import {shellQuote} from '../util/shell.js'

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
  nicFeatures?: GuestConfig['nicFeatures']
  append?: string[]
  /** more NICs like the first, each on its own tap (qemu-args.ts GuestConfig.extraNics) */
  extraNics?: GuestConfig['extraNics']
}

/** What the host offers a launch: found and built before it (guest.ts prepareLaunch). */
export interface LaunchInputs {
  qemu: string
  kernel: GuestKernel
  image: Initramfs
  accel: AccelDecision
  hostCpus: number
  /** /dev/vhost-net exists (qemu 7.2 aborts on vhost=on without it instead of failing cleanly) */
  vhostNet: boolean
}

/** A launch as it will happen: qemu's configuration and command line, and the bound of the boot. */
export interface LaunchDescription {
  qemu: string
  cfg: GuestConfig
  args: string[]
  /** the command line as one shell-quoted string (the results file records it) */
  commandLine: string
  vcpus: VcpuChoice
  vhost: boolean
  /** the agent must answer within this, from the spawn */
  bootMs: number
}

/** The boot bound: a KVM guest is up in seconds, a TCG one emulates every instruction. */
export const bootBoundMs = (accel: AccelDecision['accel']) => (accel === 'kvm' ? 20_000 : 60_000)

/** Describes the launch of `opts` on what `inputs` found: pure (throws only for a refused vCPU count). */
export function describeLaunch(opts: GuestOptions, inputs: LaunchInputs): LaunchDescription {
  const accel = inputs.accel.accel
  const vcpus = chooseVcpus({requested: opts.vcpus, queues: opts.queues, accel, hostCpus: inputs.hostCpus})
  const vhost = accel === 'kvm' && inputs.vhostNet
  const cfg: GuestConfig = {
    name: opts.name,
    kernel: inputs.kernel.path,
    initrd: inputs.image.path,
    append: [`mqb.ip=${opts.guestCidr}`, `mqb.hostname=mqb-${opts.name}`, ...(opts.append ?? [])],
    accel,
    vcpus: vcpus.vcpus,
    memoryMiB: opts.memoryMiB,
    queues: opts.queues,
    tap: opts.tap,
    mac: opts.mac,
    vhost,
    dir: opts.dir,
    mq: opts.mq,
    vectors: opts.vectors,
    ...(opts.nicFeatures?.length ? {nicFeatures: opts.nicFeatures} : {}),
    ...(opts.extraNics?.length ? {extraNics: opts.extraNics} : {}),
  }
  const args = qemuArgs(cfg)
  return {
    qemu: inputs.qemu,
    cfg,
    args,
    commandLine: shellQuote([inputs.qemu, ...args]),
    vcpus,
    vhost,
    bootMs: opts.bootTimeoutMs ?? bootBoundMs(accel),
  }
}
