// The guest's initramfs, built by mqbench: busybox-static (a copy of the binary), the kernel
// modules the guest needs in load order, the mqbench guest agent and an init script. Cached by
// the contents that go in (kernel, modules, busybox, agent, init), so a rebuilt agent or another
// kernel gives a new image and an unchanged setup boots the cached one.
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, readdirSync, realpathSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {ExitCode, MqbError} from '../errors.js'
import {ensureDir, writeFileAtomic} from '../host/files.js'
import {run} from '../util/exec.js'
import {writeCpio, type CpioEntry} from './cpio.js'
import type {GuestKernel} from './kernel.js'
import {loadOrder, moduleName, parseModulesBuiltin, parseModulesDep, readModule} from './modules.js'

/** virtio_pci/virtio_net for the NIC, virtio_console for the agent's port, pvpanic for panics. */
export const GUEST_MODULES = ['virtio_pci', 'virtio_net', 'virtio_console', 'pvpanic_pci']

/**
 * Modules put into the image but not loaded at boot, for `modprobe` in the guest when a case needs
 * them (pktgen: the kernel's own generator). A kernel without them gets an image without them.
 */
export const OPTIONAL_GUEST_MODULES = ['pktgen']

export const AGENT_PORT_NAME = 'org.mqbench.agent'
export const AGENT_GUEST_PATH = '/sbin/mqbench-agent'

/** Lines the init script prints on the console so the host can tell how far the guest got. */
export const BOOT_MARK = 'mqb-boot:'

export interface InitramfsInputs {
  /** plain .ko files in load order */
  modules: Array<{name: string; data: Buffer}>
  busybox: Buffer
  agent: Buffer
  /** more files at absolute guest paths (a dynamically linked tool and its libraries) */
  extras?: Array<{path: string; data: Buffer; mode?: number}>
}

/**
 * The init script: mounts, loads the modules in order, configures eth0 from the kernel command
 * line (mqb.ip=ADDR/PREFIX), keeps a shell on the console for `mqbench testbed console`, and
 * runs the agent, restarting it if it exits (pid 1 must never exit: the kernel would panic).
 */
export function initScript(moduleNames: string[]): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp /run
mount -t devpts devpts /dev/pts
mark() { read -r up _ < /proc/uptime; echo "${BOOT_MARK} $1 $up"; }
mark init
for m in ${moduleNames.join(' ')}; do insmod /lib/modules/$m || echo "${BOOT_MARK} insmod $m failed"; done
mark modules
ip=
for a in $(cat /proc/cmdline); do
  case $a in
    mqb.ip=*) ip=\${a#mqb.ip=} ;;
    mqb.hostname=*) hostname \${a#mqb.hostname=} ;;
  esac
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  [ -n "$ip" ] && ip addr add "$ip" dev eth0
  mark net
else
  echo "${BOOT_MARK} no eth0 (virtio_net did not bind)"
fi
(while :; do setsid cttyhack sh -l </dev/ttyS0 >/dev/ttyS0 2>&1; sleep 1; done) &
mark agent
while :; do
  ${AGENT_GUEST_PATH} --port auto
  echo "${BOOT_MARK} agent exited with status $?"
  sleep 1
done
`
}

/** Every file, directory and node of the image, in archive order. */
export function initramfsEntries(inputs: InitramfsInputs): CpioEntry[] {
  const dirs = ['bin', 'sbin', 'dev', 'proc', 'sys', 'tmp', 'run', 'etc', 'lib', 'lib/modules', 'root']
  const extras = (inputs.extras ?? []).map((e) => ({...e, path: e.path.replace(/^\/+/, '')}))
  for (const e of extras) {
    const parts = e.path.split('/').slice(0, -1)
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/')
      if (!dirs.includes(d)) dirs.push(d)
    }
  }
  return [
    ...dirs.map((path): CpioEntry => ({kind: 'dir', path})),
    // The kernel opens /dev/console for init before devtmpfs is mounted.
    {kind: 'chardev', path: 'dev/console', major: 5, minor: 1},
    {kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666},
    {kind: 'file', path: 'bin/busybox', data: inputs.busybox, mode: 0o755},
    {kind: 'symlink', path: 'bin/sh', target: 'busybox'},
    {kind: 'file', path: AGENT_GUEST_PATH.slice(1), data: inputs.agent, mode: 0o755},
    ...inputs.modules.map((m): CpioEntry => ({kind: 'file', path: `lib/modules/${m.name}`, data: m.data})),
    ...extras.map((e): CpioEntry => ({kind: 'file', path: e.path, data: e.data, mode: e.mode ?? 0o755})),
    {kind: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n')},
    {
      kind: 'file',
      path: 'init',
      data: Buffer.from(initScript(inputs.modules.map((m) => m.name))),
      mode: 0o755,
    },
  ]
}

/** The guest's modules, dependencies first, read and decompressed from the kernel's module tree. */
export function guestModules(
  kernel: GuestKernel,
  wanted = GUEST_MODULES,
): Array<{name: string; data: Buffer}> {
  const deps = parseModulesDep(readFileSync(join(kernel.moduleDir, 'modules.dep'), 'utf8'))
  let builtin = new Set<string>()
  try {
    builtin = parseModulesBuiltin(readFileSync(join(kernel.moduleDir, 'modules.builtin'), 'utf8'))
  } catch {}
  const {paths, builtinOrMissing} = loadOrder(deps, wanted)
  const missing = builtinOrMissing.filter((m) => !builtin.has(m))
  if (missing.length)
    throw new MqbError(
      `guest kernel ${kernel.release} has no ${missing.join(', ')} (neither a module in ${kernel.moduleDir} nor built in); pick another with --kernel`,
      ExitCode.unsupported,
    )
  return paths.map((p) => readModule(kernel.moduleDir, p))
}

/**
 * The optional modules this kernel has, with the dependencies that boot does not load, at
 * /lib/modules/RELEASE/extra/NAME.ko with a modules.dep of their own, which busybox modprobe reads.
 */
export function optionalModuleFiles(
  kernel: GuestKernel,
  loaded: string[],
  wanted = OPTIONAL_GUEST_MODULES,
): Array<{path: string; data: Buffer; mode: number}> {
  let deps
  try {
    deps = parseModulesDep(readFileSync(join(kernel.moduleDir, 'modules.dep'), 'utf8'))
  } catch {
    return []
  }
  const present = wanted.filter((w) => deps.has(w))
  if (!present.length) return []
  const boot = new Set(loaded.map(moduleName))
  const {paths} = loadOrder(deps, present)
  const mine = paths.filter((p) => !boot.has(moduleName(p)))
  const dir = `/lib/modules/${kernel.release}`
  const files = mine.map((p) => ({...readModule(kernel.moduleDir, p), rel: p}))
  const names = new Set(files.map((f) => moduleName(f.rel)))
  const dep = files
    .map((f) => {
      const own = deps.get(moduleName(f.rel))!.deps.filter((d) => names.has(d))
      return `extra/${f.name}:${own.map((d) => ` extra/${d}.ko`).join('')}\n`
    })
    .join('')
  return [
    ...files.map((f) => ({path: `${dir}/extra/${f.name}`, data: f.data, mode: 0o644})),
    {path: `${dir}/modules.dep`, data: Buffer.from(dep), mode: 0o644},
  ]
}

/**
 * A host tool for the guest with the libraries `ldd` names, at the same paths: ethtool, whose
 * `-S` gives the per-queue packet counters the evidence needs. Absent tool: nothing.
 */
export function hostTool(name: string): Array<{path: string; data: Buffer}> {
  const which = run('sh', ['-c', `command -v ${name}`])
  if (which.status !== 0) return []
  const bin = realpathSync(which.stdout.trim())
  const libs = run('ldd', [bin])
    .stdout.split('\n')
    .map((l) => /(\/\S+)\s+\(0x/.exec(l)?.[1])
    .filter((p): p is string => !!p)
  return [
    {path: `/usr/sbin/${name}`, data: readFileSync(bin)},
    ...libs.map((p) => ({path: p, data: readFileSync(realpathSync(p))})),
  ]
}

export const defaultCacheDir = () =>
  process.env.MQBENCH_CACHE_DIR ??
  (process.getuid?.() === 0 ? '/var/cache/mqbench' : join(process.env.HOME ?? '/tmp', '.cache', 'mqbench'))

/** A built image: its path and what went in (recorded in the results file). */
export interface Initramfs {
  path: string
  key: string
  cached: boolean
  modules: string[]
  sizeBytes: number
}

/**
 * Builds (or finds in the cache) the image for this kernel, busybox and agent. The cache keeps
 * only the newest few images so that rebuilding the agent all day does not fill the disk.
 */
export function buildInitramfs(opts: {
  kernel: GuestKernel
  busybox: string
  agent: string
  cacheDir?: string
}): Initramfs {
  const modules = guestModules(opts.kernel)
  const inputs: InitramfsInputs = {
    modules,
    busybox: readFileSync(opts.busybox),
    agent: readFileSync(opts.agent),
    extras: [
      ...hostTool('ethtool'),
      ...optionalModuleFiles(
        opts.kernel,
        modules.map((m) => m.name),
      ),
    ],
  }
  const entries = initramfsEntries(inputs)
  const h = createHash('sha256')
  h.update(opts.kernel.release)
  h.update(readFileSync(opts.kernel.path))
  for (const e of entries) {
    h.update(`${e.kind}\0${e.path}\0`)
    if (e.kind === 'file') h.update(e.data)
    if (e.kind === 'symlink') h.update(e.target)
  }
  const key = h.digest('hex').slice(0, 16)
  const dir = join(opts.cacheDir ?? defaultCacheDir(), 'initramfs')
  const path = join(dir, `initramfs-${opts.kernel.release}-${key}.cpio`)
  const names = modules.map((m) => m.name)
  if (existsSync(path)) return {path, key, cached: true, modules: names, sizeBytes: statSync(path).size}
  // A full or read-only cache directory: one line, exit 3 (cannotWrite), no cut-off image left.
  ensureDir(dir)
  const image = writeCpio(entries)
  writeFileAtomic(path, image)
  pruneCache(dir, 6)
  return {path, key, cached: false, modules: names, sizeBytes: image.length}
}

function pruneCache(dir: string, keep: number): void {
  const files = readdirSync(dir)
    .filter((f) => f.startsWith('initramfs-') && f.endsWith('.cpio'))
    .map((f) => ({f, t: statMtime(join(dir, f))}))
    .sort((a, b) => b.t - a.t)
  for (const {f} of files.slice(keep)) rmSync(join(dir, f), {force: true})
}

function statMtime(p: string): number {
  try {
    return statSync(p).mtimeMs
  } catch {
    return 0
  }
}
