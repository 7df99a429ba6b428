// oclif custom flags over the shared parsers, so every command spells and checks them alike.
import {Flags} from '@oclif/core'
import {DEFAULT_FRAME_SIZE} from '../gen/frame.js'
import {onlineCpus} from '../host/cpus.js'
import {LIMITS} from '../limits.js'
import type {TestbedKind, VmOptions} from '../testbed/index.js'
import {GUEST_DEFAULTS} from '../vm/defaults.js'
import {formatDurationMs, parseBytes, parseCpuListFlag, parseDurationMs, parseQueueList} from './parse.js'

export const queueListFlag = Flags.custom<number[]>({
  parse: async (input) => parseQueueList(input),
  helpValue: '1..8|1,2,4,8|1..16:2',
})

export const cpuListFlag = Flags.custom<number[]>({
  parse: async (input) => parseCpuListFlag(input, onlineCpus()),
  helpValue: '0-3,6',
})

export const durationFlag = Flags.custom<number>({
  parse: async (input) => parseDurationMs(input),
  helpValue: '10s|500ms|2m',
  // Defaults are held in milliseconds; help shows them as a person writes them.
  defaultHelp: async ({options}) =>
    typeof options.default === 'number' ? formatDurationMs(options.default) : undefined,
})

/** A warm-up: like durationFlag, but 0 (0s) means none. */
export const warmupFlag = Flags.custom<number>({
  parse: async (input) => parseDurationMs(input, {min: 0}),
  helpValue: '2s|500ms|0s',
  defaultHelp: async ({options}) =>
    typeof options.default === 'number' ? formatDurationMs(options.default) : undefined,
})

/**
 * What a size suffix means, in every size flag's help: netperf reads 16K as 16384 but 16k as
 * 16000, mqbench reads both as 16384, so a netperf command line copied here must say so.
 */
export const SIZE_SUFFIX_HELP = 'k/K/KiB = 1024, m/M/MiB = 1048576 (netperf reads lower-case k/m as 1000s)'

export const bytesFlag = (what: string, min: number, max: number) => {
  const make = Flags.custom<number>({
    parse: async (input) => parseBytes(input, {min, max, what}),
    helpValue: 'BYTES',
  })
  // Same overloads as the flag it wraps (the default decides whether the value can be undefined).
  return ((opts: {description?: string} = {}) =>
    make({
      ...opts,
      description: `${opts.description ?? what}; ${SIZE_SUFFIX_HELP}`,
    } as never)) as unknown as typeof make
}

/** --frame-size: the Ethernet frame without FCS, as gen sends it and the kernel's byte counters count it. */
export const frameSizeFlag = bytesFlag('frame size', DEFAULT_FRAME_SIZE, LIMITS.maxFrameBytes)

/** --netns, shared by every command that can run inside a namespace. */
export const netnsFlag = Flags.string({
  description: 'run inside this network namespace (/run/netns/NAME)',
  helpValue: 'NAME',
})

/** --testbed tap|veth|vm|dev:IF (src/testbed/index.ts). */
export const testbedKindFlag = Flags.custom<{kind: TestbedKind; dev?: string}>({
  // Imported when the flag is given: the testbed library (its vm half is 50 modules) is no part of
  // the start of the commands that only share this file's other flags.
  parse: async (input) => (await import('../testbed/index.js')).parseTestbedKind(input),
  helpValue: 'tap|veth|vm|dev:IF',
})

/** The vm testbed's guest: shared by `testbed up` and `scale`. */
export const vmFlags = {
  vcpus: Flags.integer({
    helpValue: 'N',
    description:
      "vm: guest vCPUs (default: the largest queue count; under TCG at most the host's CPUs, and more than 4x them is refused)",
    min: 1,
    max: 64,
  }),
  memory: bytesFlag(
    '--memory',
    128 << 20,
    64 * 2 ** 30,
  )({description: `vm: guest memory (default ${GUEST_DEFAULTS.memoryMiB}M)`, helpValue: 'SIZE'}),
  kernel: Flags.string({
    description:
      'vm: guest kernel (default: /boot/vmlinuz-$(uname -r) with modules, else the newest installed)',
    helpValue: 'PATH',
  }),
  accel: Flags.option({options: ['auto', 'kvm', 'tcg'] as const, default: GUEST_DEFAULTS.accel})({
    description: 'vm: KVM when it can run the guest (probed once, cached), else TCG',
  }),
  keep: Flags.boolean({description: 'vm: leave a guest that failed to come up running, for inspection'}),
  'vcpu-cpus': cpuListFlag({description: 'vm: pin vCPU i to the (i mod n)-th of these host CPUs'}),
}

export function vmOptions(flags: {
  vcpus?: number
  memory?: number
  kernel?: string
  accel?: 'auto' | 'kvm' | 'tcg'
  keep?: boolean
  'vcpu-cpus'?: number[]
}): VmOptions {
  return {
    vcpus: flags.vcpus,
    memoryMiB: flags.memory === undefined ? undefined : Math.round(flags.memory / (1 << 20)),
    kernel: flags.kernel,
    accel: flags.accel,
    keep: flags.keep,
    vcpuCpus: flags['vcpu-cpus'],
  }
}

/** The load of both check plans (`check` on a live interface, `check vm` in guests). */
export const checkLoadFlags = {
  sessions: Flags.integer({
    helpValue: 'N',
    description: 'concurrent TCP_RR sessions',
    default: 20,
    min: 1,
    max: LIMITS.maxSessions,
  }),
  duration: durationFlag({description: 'length of each load run', default: 5000}),
}
