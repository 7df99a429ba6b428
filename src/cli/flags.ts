// oclif custom flags over the shared parsers, so every command spells and checks them alike.
import {Flags} from '@oclif/core'
import {DEFAULT_FRAME_SIZE} from '../gen/frame.js'
import {onlineCpus} from '../host/cpus.js'
import {LIMITS} from '../limits.js'
import {parseTestbedKind} from '../testbed/index.js'
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

export const bytesFlag = (what: string, min: number, max: number) =>
  Flags.custom<number>({
    parse: async (input) => parseBytes(input, {min, max, what}),
    helpValue: 'BYTES',
  })

/** --frame-size: the Ethernet frame without FCS, as gen sends it and the kernel's byte counters count it. */
export const frameSizeFlag = bytesFlag('frame size', DEFAULT_FRAME_SIZE, LIMITS.maxFrameBytes)

/** --netns, shared by every command that can run inside a namespace. */
export const netnsFlag = Flags.string({
  description: 'run inside this network namespace (/run/netns/NAME)',
  helpValue: 'NAME',
})

/** --testbed tap|veth|dev:IF (src/testbed/index.ts). */
export const testbedKindFlag = Flags.custom<{kind: 'tap' | 'veth' | 'dev'; dev?: string}>({
  parse: async (input) => parseTestbedKind(input),
  helpValue: 'tap|veth|dev:IF',
})
