// The one typed door to the C++ addon. Each area adds its own interface below and reads its
// functions through `native()`; nothing else in src/ loads the .node file.
import {createRequire} from 'node:module'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {dirname, join} from 'node:path'
import {ExitCode, MqbError} from './errors.js'

// src/native.ts and dist/native.js both sit one level below the package root.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface NativeAddon {
  /** CLOCK_MONOTONIC in nanoseconds: the time base of every native timestamp. */
  monotonicNs(): bigint
  /** The areas compiled into this build ("gen", "sessions", ...). */
  areas: string[]
  [fn: string]: unknown
}

let cached: NativeAddon | undefined

export function native(): NativeAddon {
  if (cached) return cached
  const candidates = ['build/Release/mqbench.node', 'build/Debug/mqbench.node'].map((p) => join(packageRoot, p))
  const found = candidates.find((p) => existsSync(p))
  if (!found) {
    throw new MqbError(
      `the native addon is not built (looked for ${candidates[0]}); run \`npm install\` (or \`npm run build:native\`) in ${packageRoot}`,
      ExitCode.failure,
    )
  }
  cached = createRequire(import.meta.url)(found) as NativeAddon
  return cached
}

/** A native function by name, typed by the caller; a clear error if this build lacks it. */
export function nativeFn<F>(name: string): F {
  const fn = native()[name]
  if (typeof fn !== 'function') throw new MqbError(`this build of the native addon has no ${name}(); rebuild it with \`npm run build:native\``, ExitCode.failure)
  return fn as F
}

// ---- ifctl: multiqueue taps and ethtool channels (native/addon_ifctl.cc) ----

export interface TapHandle {
  name: string
  /** fds[i] serves queue i; the tap disappears when the last one closes */
  fds: number[]
  vnetHdrLen: number
}

export interface Channels {
  maxRx: number
  maxTx: number
  maxOther: number
  maxCombined: number
  rx: number
  tx: number
  other: number
  combined: number
}

export const ifctl = {
  tapOpen: (opts: {name: string; queues: number; vnetHdr?: boolean; offloads?: boolean; netns?: string}) =>
    nativeFn<(o: typeof opts) => TapHandle>('tapOpen')(opts),
  /** TUNSETQUEUE attach/detach: the live queue count of a multiqueue tap, as qemu changes it. */
  tapSetQueueAttached: (fd: number, attached: boolean) => nativeFn<(fd: number, a: boolean) => void>('tapSetQueueAttached')(fd, attached),
  closeFd: (fd: number) => nativeFn<(fd: number) => void>('closeFd')(fd),
  /** ETHTOOL_GCHANNELS; throws with .code EOPNOTSUPP where the driver has no channels. */
  getChannels: (dev: string, netns = '') => nativeFn<(d: string, n: string) => Channels>('getChannels')(dev, netns),
  /** ETHTOOL_SCHANNELS; fields left out keep their value. */
  setChannels: (dev: string, ch: {rx?: number; tx?: number; combined?: number}, netns = '') =>
    nativeFn<(d: string, c: typeof ch, n: string) => void>('setChannels')(dev, ch, netns),
}
