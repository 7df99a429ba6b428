// The I/O edge of the observation layer: every file read, tool run and write of kernel state
// goes through an ObserveIO, so parsers and advice stay pure and tests feed fixture trees (a root
// path) or canned tool output. /sys/class/net is per network namespace, so a device in another
// namespace is read through one `ip netns exec NS sh` per snapshot (one process, not one per
// file: a sweep takes snapshots every iteration). /proc/interrupts, /proc/irq and softnet_stat
// are host-wide and read directly.
import {existsSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ExitCode, MqbError, errnoCode, fromNative} from '../errors.js'
import {ifctl, type Channels} from '../native.js'
import {run} from '../util/exec.js'
import {requireNetns} from '../host/netns.js'

export interface ObserveOptions {
  netns?: string
  /** where / is for sysfs and /proc (tests: fixture trees) */
  root?: string
  /**
   * replaces parts of the I/O: tests over a fixture tree give canned (or no) ethtool, tc and
   * channels answers here, since those tools would ask the real kernel
   */
  io?: Partial<ObserveIO>
}

export interface DeviceFiles {
  dev: string
  /** path of the `device` link's target ("/sys/devices/pci0000:00/0000:00:03.0/virtio2"); absent for virtual devices */
  deviceLink?: string
  /** files under /sys/class/net/DEV by relative path ("queues/rx-0/rps_cpus" -> "00000003") */
  files: Record<string, string>
  /** IRQs the device's PCI function owns (msi_irqs), [] when not a PCI device */
  msiIrqs: number[]
}

export interface ObserveIO {
  root: string
  netns: string
  readHostFile(path: string): string | undefined
  listHostDir(path: string): string[]
  deviceFiles(dev: string): DeviceFiles
  /** ethtool in the device's namespace; undefined when it fails (e.g. no statistics) */
  ethtool(args: string[]): string | undefined
  /** ETHTOOL_GCHANNELS; undefined when the driver has no channels */
  channels(dev: string): Channels | undefined
  setChannels(dev: string, ch: {rx?: number; tx?: number; combined?: number}): void
  /** kind of the root qdisc ("mq", "noqueue", "pfifo_fast") */
  rootQdisc(dev: string): string | undefined
  writeDeviceFile(dev: string, rel: string, value: string): void
  writeHostFile(path: string, value: string): void
}

// Directories under /sys/class/net/DEV worth reading, and single files next to them.
const DEVICE_DIRS = ['queues', 'statistics']
const DEVICE_FILES = ['operstate', 'mtu', 'tx_queue_len', 'device/numa_node', 'device/../numa_node']

function readOpt(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function walk(dir: string, rel: string, out: Record<string, string>, depth: number): void {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const n of names) {
    const p = join(dir, n)
    let isDir = false
    try {
      isDir = statSync(p).isDirectory()
    } catch {
      continue
    }
    if (isDir) {
      if (depth > 0) walk(p, `${rel}/${n}`, out, depth - 1)
      continue
    }
    // Unreadable attributes (xps_cpus on a single-queue device answers ENOENT) are left out.
    const text = readOpt(p)
    if (text !== undefined && text.trim() !== '') out[`${rel}/${n}`] = text.trim()
  }
}

function localDeviceFiles(root: string, dev: string): DeviceFiles {
  const base = join(root, 'sys/class/net', dev)
  if (!existsSync(base)) throw noSuchDevice(dev, '')
  const files: Record<string, string> = {}
  for (const d of DEVICE_DIRS) walk(join(base, d), d, files, 2)
  const out: DeviceFiles = {dev, files, msiIrqs: []}
  let real: string | undefined
  try {
    real = realpathSync(join(base, 'device'))
  } catch {}
  // path.join would fold "device/.." into the net directory: resolve the link first.
  const resolve = (f: string) =>
    f.startsWith('device/') ? (real ? join(real, f.slice(7)) : undefined) : join(base, f)
  for (const f of DEVICE_FILES) {
    const p = resolve(f)
    const t = p === undefined ? undefined : readOpt(p)
    if (t !== undefined && t.trim() !== '') files[f] = t.trim()
  }
  if (real) {
    const rootReal = realpathSync(root)
    out.deviceLink = rootReal === '/' ? real : real.slice(rootReal.length) || '/'
    for (const d of [join(real, 'msi_irqs'), join(real, '../msi_irqs')]) {
      if (existsSync(d)) {
        out.msiIrqs = readdirSync(d)
          .map(Number)
          .filter((n) => !Number.isNaN(n))
          .sort((a, b) => a - b)
        break
      }
    }
  }
  return out
}

// One process reads everything; "@" lines carry what grep cannot (the link, the msi listing).
// Also run inside guests by the vm testbed (busybox sh), with the device name as $1.
export const NETNS_SCRIPT = `cd "/sys/class/net/$1" 2>/dev/null || exit 3
[ -e device ] && echo "@link $(readlink -f device)"
for d in device/msi_irqs device/../msi_irqs; do [ -d "$d" ] && { echo "@msi $(ls "$d" | tr '\\n' ' ')"; break; }; done
grep -rsH . ${DEVICE_DIRS.join(' ')} ${DEVICE_FILES.join(' ')}
exit 0`

/** Parses the output of NETNS_SCRIPT (exported for tests). */
export function parseDeviceDump(dev: string, text: string): DeviceFiles {
  const out: DeviceFiles = {dev, files: {}, msiIrqs: []}
  for (const line of text.split('\n')) {
    if (line.startsWith('@link ')) out.deviceLink = line.slice(6).trim()
    else if (line.startsWith('@msi '))
      out.msiIrqs = line
        .slice(5)
        .trim()
        .split(/\s+/)
        .map(Number)
        .filter((n) => !Number.isNaN(n))
        .sort((a, b) => a - b)
    else {
      const i = line.indexOf(':')
      if (i <= 0) continue
      const k = line.slice(0, i)
      out.files[k] = k in out.files ? `${out.files[k]}\n${line.slice(i + 1)}` : line.slice(i + 1)
    }
  }
  return out
}

function noSuchDevice(dev: string, netns: string): MqbError {
  const where = netns ? ` in network namespace ${netns}` : ''
  return new MqbError(
    `no interface ${dev}${where}; list them with \`ip ${netns ? `-n ${netns} ` : ''}-br link\``,
    ExitCode.noDevice,
  )
}

function netnsArgs(netns: string, cmd: string, args: string[]): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args]
}

/** The I/O for a device in `netns` (or the current namespace), with host files under `root`. */
export function observeIO(opts: ObserveOptions = {}): ObserveIO {
  const root = opts.root ?? '/'
  const netns = opts.netns ?? ''
  if (netns) requireNetns(netns)
  const host = (p: string) => join(root, p)
  const io: ObserveIO = {
    root,
    netns,
    readHostFile: (p) => readOpt(host(p)),
    listHostDir: (p) => {
      try {
        return readdirSync(host(p))
      } catch {
        return []
      }
    },
    deviceFiles: (dev) => {
      if (!netns) return localDeviceFiles(root, dev)
      const r = run('ip', ['netns', 'exec', netns, 'sh', '-c', NETNS_SCRIPT, 'sh', dev])
      if (r.status === 3) throw noSuchDevice(dev, netns)
      if (r.status !== 0)
        throw new MqbError(
          `cannot read /sys/class/net/${dev} in ${netns}: ${r.stderr.trim()}`,
          ExitCode.failure,
        )
      return parseDeviceDump(dev, r.stdout)
    },
    ethtool: (args) => {
      const [cmd, a] = netnsArgs(netns, 'ethtool', args)
      const r = run(cmd, a)
      return r.status === 0 ? r.stdout : undefined
    },
    channels: (dev) => {
      try {
        return ifctl.getChannels(dev, netns)
      } catch (err) {
        if (errnoCode(err) === 'EOPNOTSUPP') return undefined
        throw fromNative(err, {dev})
      }
    },
    setChannels: (dev, ch) => {
      try {
        ifctl.setChannels(dev, ch, netns)
      } catch (err) {
        throw fromNative(err, {dev, capability: 'CAP_NET_ADMIN'})
      }
    },
    rootQdisc: (dev) => {
      const [cmd, a] = netnsArgs(netns, 'tc', ['-j', 'qdisc', 'show', 'dev', dev])
      const r = run(cmd, a)
      if (r.status !== 0) return undefined
      try {
        const list = JSON.parse(r.stdout) as Array<{kind: string; root?: boolean}>
        return list.find((q) => q.root)?.kind
      } catch {
        return undefined
      }
    },
    writeDeviceFile: (dev, rel, value) => {
      const path = `/sys/class/net/${dev}/${rel}`
      if (!netns) return writeHostOrThrow(join(root, path), value)
      const r = run('ip', ['netns', 'exec', netns, 'sh', '-c', 'printf %s "$1" > "$2"', 'sh', value, path])
      if (r.status !== 0) throw writeFailed(path, r.stderr)
    },
    writeHostFile: (p, value) => writeHostOrThrow(host(p), value),
  }
  return {...io, ...opts.io}
}

function writeFailed(path: string, why: string): MqbError {
  if (/denied|not permitted/i.test(why))
    return new MqbError(`cannot write ${path}: mqbench needs CAP_NET_ADMIN (run as root)`, ExitCode.privilege)
  return new MqbError(`cannot write ${path}: ${why.trim()}`, ExitCode.failure)
}

function writeHostOrThrow(path: string, value: string): void {
  try {
    writeFileSync(path, value)
  } catch (err) {
    throw writeFailed(path, (err as Error).message)
  }
}
