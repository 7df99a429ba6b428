// What a command needs from the host, checked once before it changes anything: one table of
// requirements, each a probe of a host fact with the line and exit code a person gets when it is
// missing. The probes are data and a host answers them, so the same table runs against this
// machine (localHost) or against an SSH far end, whose agent answers them from its own /proc and
// /sys (agentHost). `mqbench doctor` is a view of this table.
import {accessSync, constants, existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, basename} from 'node:path'
import {ExitCode, MqbError, type ExitCodeValue} from './errors.js'
import {CAPABILITY_BITS, effectiveCapabilities, type Capability} from './host/privileges.js'
import {CHROMIUM_PATH} from './host/chromium.js'
import type {FarCheck} from './hosts/far-end.js'
import type {FarHost} from './hosts/ssh.js'
import {locateAddon, loadAddon, locateAgent} from './prebuilds.js'
import {RESERVED_FDS} from './sessions/host-limits.js'
import {AgentError} from './vm/agent-client.js'
import type {AgentFacade} from './vm/agent-ops.js'
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
  | {kind: 'netDevice'; name: string}
  /** RLIMIT_NOFILE's hard limit holds this many sessions' sockets (a server's) */
  | {kind: 'openFiles'; sessions: number}

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
  /** how missing capabilities are granted there, when not as on this machine (setcap on node) */
  capabilityFix?: string
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
  netDevice: {
    label: 'network device',
    probe: {kind: 'netDevice', name: ''},
    fix: '',
    exit: ExitCode.noDevice,
  },
  openFiles: {
    label: 'open files',
    probe: {kind: 'openFiles', sessions: 0},
    fix: "raise RLIMIT_NOFILE's hard limit (LimitNOFILE=, limits.conf; sshd's for a far end) or run fewer sessions",
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
  // An SSH far end (docs/hosts.md), asked of that host: a session server holds a socket per session
  'far:server': ['openFiles'],
  // gen's receiver there: a raw socket on the named device
  'far:rx': ['capNetRaw', 'netDevice'],
} satisfies Record<string, RequirementId[]>
export type NeedsId = keyof typeof NEEDS

/** The run's own choices that fill a requirement's probe in. */
export interface ProbeChoices {
  /** an explicit --kernel */
  kernel?: string
  /** the network device the run uses (netDevice) */
  device?: string
  /** the sessions a server holds (openFiles) */
  sessions?: number
}

/** The probe of a requirement with the run's own choices filled in. */
function probeOf(id: RequirementId, opts: ProbeChoices): Probe {
  const p: Probe = REQUIREMENTS[id].probe
  if (p.kind === 'guestKernel' && opts.kernel) return {...p, path: opts.kernel}
  if (p.kind === 'netDevice') return {...p, name: opts.device ?? ''}
  if (p.kind === 'openFiles') return {...p, sessions: opts.sessions ?? 0}
  return p
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
  opts: ProbeChoices & {host?: Host} = {},
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
        ? `mqbench needs ${caps.map((c) => REQUIREMENTS[c.id].label).join(' and ')}: ${host.capabilityFix ?? SETCAP}`
        : missingLine(id, a),
    )
  const where = host === localHost ? '' : `${host.name}: `
  const first = missing[0]!
  throw new MqbError(where + lines.join('; '), first.a.exit ?? REQUIREMENTS[first.id].exit)
}

// ---- this machine's answers ----

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err))

/** "Max open files  1024  1048576  files" of /proc/PID/limits: the hard limit. */
export function hardOpenFiles(limits: string): number | undefined {
  const m = /^Max open files\s+\S+\s+(\S+)/m.exec(limits)
  if (!m) return undefined
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1])
}

/**
 * Whether a server's sockets fit RLIMIT_NOFILE's hard limit (a server raises its soft limit to
 * it at start), from the text of /proc/PID/limits, here or on a far host.
 */
export function openFilesAnswer(sessions: number, limits: string): Answer {
  const hard = hardOpenFiles(limits)
  if (hard === undefined) return {ok: false, why: 'no "Max open files" line in /proc/self/limits'}
  const need = sessions + RESERVED_FDS
  return need <= hard
    ? {ok: true, found: `hard limit ${hard}`}
    : {
        ok: false,
        why: `${sessions} sessions need about ${need} open files but RLIMIT_NOFILE's hard limit is ${hard}`,
      }
}

const capabilityAnswer = (cap: Capability, capEff: bigint, whose: string): Answer =>
  ((capEff >> BigInt(CAPABILITY_BITS[cap])) & 1n) === 1n
    ? {ok: true, found: 'effective'}
    : {ok: false, why: `${cap} is not in ${whose} effective set`}

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
  capability: (p) => capabilityAnswer(p.cap, effectiveCapabilities(), "this process's"),
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
  netDevice: (p) =>
    existsSync(`/sys/class/net/${p.name}`)
      ? {ok: true, found: `/sys/class/net/${p.name}`}
      : {ok: false, why: `no network device ${p.name}`},
  openFiles: (p) => openFilesAnswer(p.sessions, readFileSync('/proc/self/limits', 'utf8')),
}

/** Answers a probe on this machine. */
export function answerLocally(p: Probe): Answer {
  return (LOCAL[p.kind] as (p: Probe) => Answer)(p)
}

export const localHost: Host = {
  name: 'this host',
  answer: (probes) => Promise.resolve(probes.map(answerLocally)),
}

// ---- a far host's answers, through its agent ----

const ENOENT = 2
/** Where a far host's commands are looked for: the agent in host mode runs none, it lists these. */
const FAR_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

/** A file's text there, or undefined when it does not exist (any other failure is thrown). */
async function farRead(agent: AgentFacade, path: string): Promise<string | undefined> {
  try {
    return (await agent.readFile(path)).data
  } catch (err) {
    if (err instanceof AgentError && err.errno === ENOENT) return undefined
    throw err
  }
}

/** Whether `path` is listed in its directory there (the agent reads; it runs nothing). */
async function farListed(agent: AgentFacade, path: string): Promise<boolean> {
  try {
    return (await agent.listDir(dirname(path))).entries.some((e) => e.name === basename(path))
  } catch (err) {
    if (err instanceof AgentError && err.errno === ENOENT) return false
    throw err
  }
}

/**
 * Each probe kind answered by a far host's agent (host mode: reads only). The probes of what
 * only this machine uses (the addon, a guest's kernel and busybox, npm packages) are refused
 * there by name: asking them of a far end is a caller's mistake.
 */
const FAR: {[K in Probe['kind']]: (p: Extract<Probe, {kind: K}>, agent: AgentFacade) => Promise<Answer>} = {
  command: async (p, agent) => {
    for (const dir of FAR_PATH)
      if (await farListed(agent, `${dir}/${p.name}`)) return {ok: true, found: `${dir}/${p.name}`}
    return {ok: false, why: `${p.name} not found in ${FAR_PATH.join(':')}`}
  },
  device: async (p, agent) =>
    (await farListed(agent, p.path)) ? {ok: true, found: p.path} : {ok: false, why: `${p.path}: absent`},
  executable: async (p, agent) =>
    (await farListed(agent, p.path)) ? {ok: true, found: p.path} : {ok: false, why: `${p.path} not found`},
  capability: async (p, agent) =>
    capabilityAnswer(
      p.cap,
      effectiveCapabilities((await farRead(agent, '/proc/self/status')) ?? ''),
      "its agent's",
    ),
  netDevice: async (p, agent) =>
    (await farRead(agent, `/sys/class/net/${p.name}/ifindex`)) === undefined
      ? {ok: false, why: `no network device ${p.name}`}
      : {ok: true, found: `/sys/class/net/${p.name}`},
  openFiles: async (p, agent) =>
    openFilesAnswer(p.sessions, (await farRead(agent, '/proc/self/limits')) ?? ''),
  staticBusybox: async (p) => notFar(p),
  guestKernel: async (p) => notFar(p),
  addon: async (p) => notFar(p),
  agent: async (p) => notFar(p),
  package: async (p) => notFar(p),
}
const notFar = (p: Probe): Answer => ({ok: false, why: `${p.kind} is this machine's, not asked of a far end`})

/** A far host whose agent answers the probes (the requests go out together, on one channel). */
export function agentHost(agent: AgentFacade, name: string): Host {
  return {
    name,
    capabilityFix: 'log in as root there (its agent runs as the SSH user)',
    answer: (probes) =>
      Promise.all(
        probes.map((p) => (FAR[p.kind] as (p: Probe, a: AgentFacade) => Promise<Answer>)(p, agent)),
      ),
  }
}

/**
 * The check an SSH far end gets once its agent is up and before anything changes there: `needs`
 * of this table, answered by that host, each refusal one line naming it. Made here and handed to
 * hosts/far-end.ts (a floor below this table).
 */
export const farCheck =
  (needs: NeedsId | RequirementId[], choices: ProbeChoices = {}): FarCheck =>
  (host: FarHost, run = {}) =>
    requirePrereqs(needs, {...choices, ...run, host: agentHost(host, `far end ${host.name}`)})

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
