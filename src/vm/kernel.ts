// Which guest kernel to boot and where its modules are: --kernel, else this host's
// /boot/vmlinuz-$(uname -r) when it is readable and has /lib/modules, else the newest installed
// Debian image (linux-image-cloud-amd64 is small and has the virtio drivers as modules).
import {accessSync, constants, existsSync, readFileSync, readdirSync} from 'node:fs'
import {release} from 'node:os'
import {ExitCode, MqbError} from '../errors.js'

export interface GuestKernel {
  /** the bzImage qemu boots */
  path: string
  /** its release ("6.1.0-57-cloud-amd64"), read from the image's own header */
  release: string
  /** /lib/modules/RELEASE */
  moduleDir: string
}

/**
 * The release string of an x86 bzImage: the setup header has "HdrS" at 0x202 and, at 0x20e, the
 * offset (from 0x200) of a NUL-terminated version string. Anything else is not a bootable kernel.
 */
export function bzImageRelease(image: Buffer): string | undefined {
  if (image.length < 0x210 || image.toString('ascii', 0x202, 0x206) !== 'HdrS') return undefined
  const at = image.readUInt16LE(0x20e) + 0x200
  if (at >= image.length) return undefined
  const end = image.indexOf(0, at)
  const text = image.toString('latin1', at, end < 0 ? Math.min(at + 256, image.length) : end)
  return /^\S+/.exec(text)?.[0]
}

const readable = (p: string) => {
  try {
    accessSync(p, constants.R_OK)
    return true
  } catch {
    return false
  }
}

/** Compares kernel releases numerically part by part ("6.10.1" > "6.9.12"). */
export function compareReleases(a: string, b: string): number {
  const pa = a.split(/[.-]/)
  const pb = b.split(/[.-]/)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? ''
    const y = pb[i] ?? ''
    const nx = Number(x)
    const ny = Number(y)
    const c =
      Number.isFinite(nx) && Number.isFinite(ny) && x !== '' && y !== '' ? nx - ny : x.localeCompare(y)
    if (c !== 0) return c
  }
  return 0
}

function describe(path: string, moduleRoot: string): GuestKernel {
  if (!existsSync(path)) throw new MqbError(`guest kernel ${path} does not exist`, ExitCode.badInput)
  if (!readable(path))
    throw new MqbError(`guest kernel ${path} is not readable (run as root)`, ExitCode.privilege)
  const rel = bzImageRelease(readFileSync(path))
  if (!rel)
    throw new MqbError(
      `${path} is not an x86 Linux kernel image (no bzImage header); give --kernel /boot/vmlinuz-VERSION`,
      ExitCode.badInput,
    )
  const moduleDir = `${moduleRoot}/${rel}`
  if (!existsSync(`${moduleDir}/modules.dep`))
    throw new MqbError(
      `guest kernel ${path} (${rel}) has no modules in ${moduleDir}: install its package (e.g. apt-get install linux-image-cloud-amd64)`,
      ExitCode.noDevice,
    )
  return {path, release: rel, moduleDir}
}

export function chooseKernel(
  explicit?: string,
  opts: {boot?: string; moduleRoot?: string} = {},
): GuestKernel {
  const boot = opts.boot ?? '/boot'
  const moduleRoot = opts.moduleRoot ?? '/lib/modules'
  if (explicit) return describe(explicit, moduleRoot)
  const own = `${boot}/vmlinuz-${release()}`
  if (readable(own) && existsSync(`${moduleRoot}/${release()}/modules.dep`)) return describe(own, moduleRoot)
  let images: string[] = []
  try {
    images = readdirSync(boot).filter((f) => f.startsWith('vmlinuz-'))
  } catch {}
  const usable = images
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((r) => existsSync(`${moduleRoot}/${r}/modules.dep`) && readable(`${boot}/vmlinuz-${r}`))
    .sort(compareReleases)
  const newest = usable.at(-1)
  if (!newest)
    throw new MqbError(
      `no usable guest kernel: ${own} is absent and no ${boot}/vmlinuz-* has its modules; apt-get install linux-image-cloud-amd64, or give --kernel PATH`,
      ExitCode.noDevice,
    )
  return describe(`${boot}/vmlinuz-${newest}`, moduleRoot)
}
