// What a command needs from the host, checked once before it changes anything: one table of
// requirements, each a probe of a host fact with the line and exit code a person gets when it is
// missing. The probes are data and a host answers them, so the same table runs against this
// machine (localHost) or against the answers a far host gives (an SSH far end answers the same
// probes with a script). `mqbench doctor` is a view of this table.
import {accessSync, constants, existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {ExitCode, MqbError, type ExitCodeValue} from './errors.js'
import {CAPABILITY_BITS, effectiveCapabilities, type Capability} from './host/privileges.js'
import {CHROMIUM_PATH} from './host/chromium.js'
import {locateAddon, loadAddon, locateAgent} from './prebuilds.js'
import {chooseKernel} from './vm/kernel.js'
import {QEMU, findBusybox, which} from './vm/prereqs.js'

/** One question a host answers. */
export type Probe =
  | {kind: 'command'; name: string}
  | {kind: 'device'; path: string}
  | {kind: 'executable'; path: string}
  | {kind: 'capability'; cap: Capability}
  | {kind: 'staticBusybox'}
  | {kind: 'guestKernel'; path?: string}
  | {kind: 'addon'}
  | {kind: 'agent'}
  | {kind: 'package'; name: string}

/** A host's answer: what was found, or why not (its own words, e.g. the loader's). */
export interface Answer {
  ok: boolean
  found?: string
  why?: string
  /**
   * the exit code the host's own words carry, where they say more than "missing": a --kernel
   * that is not a kernel is a bad flag value (3), not an absent kernel (the requirement's 5)
   */
  exit?: ExitCodeValue
}

/** A host that answers probes: this machine, or a far end answering in one round trip. */
export interface Host {
  name: string
  answer(probes: Probe[]): Promise<Answer[]>
}

export interface Requirement {
  /** what doctor calls it */
  label: string
  probe: Probe
  /** what to do about it, after the reason */
  fix: string
  exit: ExitCodeValue
}

const SETCAP =
  'run as root, or grant it: sudo setcap cap_net_raw,cap_net_admin,cap_sys_admin+ep "$(readlink -f "$(which node)")"'
const cap = (c: Capability): Requirement => ({
  label: c,
  probe: {kind: 'capability', cap: c},
  fix: SETCAP,
  exit: ExitCode.privilege,
})

/** Every requirement a command can have, with the README's exit code for each. */
export const REQUIREMENTS = {
  addon: {label: 'native addon', probe: {kind: 'addon'}, fix: '', exit: ExitCode.noBinary},
  agent: {label: 'guest agent', probe: {kind: 'agent'}, fix: '', exit: ExitCode.noBinary},
  ip: {
    label: 'ip',
    probe: {kind: 'command', name: 'ip'},
    fix: 'apt-get install iproute2',
    exit: ExitCode.unsupported,
  },
  ethtool: {
    label: 'ethtool',
    probe: {kind: 'command', name: 'ethtool'},
    fix: 'apt-get install ethtool',
    exit: ExitCode.unsupported,
  },
  tun: {
    label: '/dev/net/tun',
    probe: {kind: 'device', path: '/dev/net/tun'},
    fix: 'load the tun module: modprobe tun',
    exit: ExitCode.unsupported,
  },
  capNetAdmin: cap('CAP_NET_ADMIN'),
  capNetRaw: cap('CAP_NET_RAW'),
  capSysAdmin: cap('CAP_SYS_ADMIN'),
  qemu: {
    label: QEMU,
    probe: {kind: 'command', name: QEMU},
    fix: 'apt-get install qemu-system-x86',
    exit: ExitCode.unsupported,
  },
  busybox: {
    label: 'static busybox',
    probe: {kind: 'staticBusybox'},
    fix: 'apt-get install busybox-static',
    exit: ExitCode.unsupported,
  },
  guestKernel: {
    label: 'guest kernel',
    probe: {kind: 'guestKernel'},
    fix: 'apt-get install linux-image-cloud-amd64, or give --kernel PATH',
    exit: ExitCode.noDevice,
  },
  playwright: {
    label: 'playwright-core',
    probe: {kind: 'package', name: 'playwright-core'},
    fix: "it is mqbench's optional dependency: install mqbench again without --omit=optional",
    exit: ExitCode.unsupported,
  },
  chromium: {
    label: 'Chromium',
    probe: {kind: 'executable', path: CHROMIUM_PATH},
    fix: "apt-get install chromium, or set MQBENCH_CHROMIUM to a Chromium's path",
    exit: ExitCode.unsupported,
  },
} satisfies Record<string, Requirement>
export type RequirementId = keyof typeof REQUIREMENTS

/** What each command (or command variant) needs before it changes anything. */
export const NEEDS = {
  sessions: ['addon'],
  gen: ['addon'],
  'testbed:tap': ['addon', 'ip', 'tun', 'capNetAdmin', 'capSysAdmin'],
  'testbed:veth': ['addon', 'ip', 'capNetAdmin', 'capSysAdmin'],
  'testbed:dev': ['addon', 'ip', 'capNetAdmin'],
  'testbed:vm': [
    'addon',
    'ip',
    'tun',
    'capNetAdmin',
    'capSysAdmin',
    'qemu',
    'busybox',
    'guestKernel',
    'agent',
  ],
  png: ['playwright', 'chromium'],
  tune: ['addon'],
  // channel counts, IRQ affinity and XPS masks are written
  'tune:apply': ['addon', 'capNetAdmin'],
} satisfies Record<string, RequirementId[]>
export type NeedsId = keyof typeof NEEDS

/** The probe of a requirement with the run's own choices filled in (an explicit --kernel). */
function probeOf(id: RequirementId, opts: {kernel?: string}): Probe {
  const p: Probe = REQUIREMENTS[id].probe
  return p.kind === 'guestKernel' && opts.kernel ? {...p, path: opts.kernel} : p
}

/** The one line for a missing requirement: the host's reason, then the fix. */
export function missingLine(id: RequirementId, answer: Answer): string {
  const r: Requirement = REQUIREMENTS[id]
  const why = answer.why ?? `${r.label} not found`
  return r.fix ? `${why}: ${r.fix}` : why
}

/**
 * Checks `needs` on `host` and throws one line naming every missing piece, with the exit code
 * of the first (README's table); a run calls it before it creates anything.
 */
export async function requirePrereqs(
  needs: NeedsId | RequirementId[],
  opts: {kernel?: string; host?: Host} = {},
): Promise<void> {
  const ids: RequirementId[] = typeof needs === 'string' ? NEEDS[needs] : needs
  const host = opts.host ?? localHost
  const answers = await host.answer(ids.map((id) => probeOf(id, opts)))
  const missing = ids.map((id, i) => ({id, a: answers[i]!})).filter(({a}) => !a.ok)
  if (missing.length === 0) return
  // Capabilities are one fix: name them together.
  const caps = missing.filter(({id}) => REQUIREMENTS[id].probe.kind === 'capability')
  const lines = missing
    .filter((m) => !caps.includes(m) || m === caps[0])
    .map(({id, a}) =>
      caps[0]?.id === id
        ? `mqbench needs ${caps.map((c) => REQUIREMENTS[c.id].label).join(' and ')}: ${SETCAP}`
        : missingLine(id, a),
    )
  const where = host === localHost ? '' : `${host.name}: `
  const first = missing[0]!
  throw new MqbError(where + lines.join('; '), first.a.exit ?? REQUIREMENTS[first.id].exit)
}

// ---- this machine's answers ----

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err))

/** Each probe kind answered on this machine. */
const LOCAL: {[K in Probe['kind']]: (p: Extract<Probe, {kind: K}>) => Answer} = {
  command: (p) => {
    const found = which(p.name)
    return found ? {ok: true, found} : {ok: false, why: `${p.name} not found on PATH`}
  },
  device: (p) => {
    try {
      accessSync(p.path, constants.R_OK | constants.W_OK)
      return {ok: true, found: p.path}
    } catch (err) {
      return {
        ok: false,
        why: `${p.path}: ${existsSync(p.path) ? 'not accessible' : 'absent'} (${(err as NodeJS.ErrnoException).code})`,
      }
    }
  },
  executable: (p) => {
    try {
      accessSync(p.path, constants.X_OK)
      return {ok: true, found: p.path}
    } catch {
      return {ok: false, why: `${p.path} not found`}
    }
  },
  capability: (p) =>
    ((effectiveCapabilities() >> BigInt(CAPABILITY_BITS[p.cap])) & 1n) === 1n
      ? {ok: true, found: 'effective'}
      : {ok: false, why: `${p.cap} is not in this process's effective set`},
  staticBusybox: () => {
    try {
      return {ok: true, found: findBusybox()}
    } catch (err) {
      return {ok: false, why: reason(err).replace(/: apt-get install busybox-static$/, '')}
    }
  },
  guestKernel: (p) => {
    try {
      const k = chooseKernel(p.path)
      return {ok: true, found: `${k.path} (${k.release})`}
    } catch (err) {
      return {ok: false, why: reason(err), exit: err instanceof MqbError ? err.exitCode : undefined}
    }
  },
  addon: () => {
    try {
      loadAddon()
      const c = locateAddon()
      return {ok: true, found: `${c.how} ${c.path}`}
    } catch (err) {
      return {ok: false, why: reason(err)}
    }
  },
  agent: () => {
    try {
      const found = process.env.MQBENCH_AGENT
      if (found)
        return existsSync(found)
          ? {ok: true, found: `MQBENCH_AGENT ${found}`}
          : {ok: false, why: `MQBENCH_AGENT=${found} does not exist`}
      const c = locateAgent()
      return {ok: true, found: `${c.how} ${c.path}`}
    } catch (err) {
      return {ok: false, why: reason(err)}
    }
  },
  package: (p) => {
    try {
      return {ok: true, found: createRequire(import.meta.url).resolve(p.name)}
    } catch {
      return {ok: false, why: `${p.name} is not installed`}
    }
  },
}

/** Answers a probe on this machine. */
export function answerLocally(p: Probe): Answer {
  return (LOCAL[p.kind] as (p: Probe) => Answer)(p)
}

export const localHost: Host = {
  name: 'this host',
  answer: (probes) => Promise.resolve(probes.map(answerLocally)),
}

/** The libstdc++ this process has loaded, by the newest GLIBCXX version it defines. */
export function hostLibstdcxx(): {path: string; glibcxx: string} | undefined {
  let path: string | undefined
  try {
    path = /\s(\/\S*libstdc\+\+\.so[.\d]*)$/m.exec(readFileSync('/proc/self/maps', 'utf8'))?.[1]
  } catch {}
  if (!path) return undefined
  const versions = readFileSync(path, 'latin1').match(/GLIBCXX_3\.4(\.\d+)?/g) ?? []
  const newest = versions
    .map((v) => v.slice('GLIBCXX_'.length))
    .sort((a, b) => Number(a.split('.')[2] ?? 0) - Number(b.split('.')[2] ?? 0))
    .at(-1)
  return newest ? {path, glibcxx: newest} : undefined
}
