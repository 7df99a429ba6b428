// `mqbench doctor`: what this host offers mqbench, on one screen. Each requirement row is the
// prerequisites table's own probe (src/prereqs.ts), so doctor says exactly what a command would
// refuse for; the rest (KVM, vhost-net, AF_XDP, library versions) are facts that change how a run
// goes without stopping it.
import {mkdtempSync, rmSync} from 'node:fs'
import {release, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fromNative, MqbError, type ExitCodeValue} from './errors.js'
import {mqbenchVersion} from './host/info.js'
import {gen} from './native.js'
import {
  answerLocally,
  hostLibstdcxx,
  missingLine,
  REQUIREMENTS,
  type Answer,
  type RequirementId,
} from './prereqs.js'
import {compareVersions, declaredPrebuilds, hostGlibc, hostPlatform} from './prebuilds.js'
import {chooseAccel} from './vm/accel.js'
import {chooseKernel} from './vm/kernel.js'
import {qemuVersion} from './vm/prereqs.js'

export interface DoctorRow {
  section: string
  name: string
  /** true: present; false: missing (a command needing it refuses); null: a fact, not a requirement */
  ok: boolean | null
  value: string
  /** the one line a command gets when it is missing, with its exit code */
  missing?: string
  exitCode?: ExitCodeValue
}

export interface DoctorReport {
  version: string
  platform: string
  node: string
  kernel: string
  rows: DoctorRow[]
  missing: number
}

// Doctor's sections, in screen order, and the requirements each shows.
const SECTIONS: Array<[string, RequirementId[]]> = [
  ['binaries', ['addon', 'agent']],
  ['host', []],
  ['privileges', ['capNetAdmin', 'capNetRaw', 'capSysAdmin']],
  ['testbeds', ['ip', 'ethtool', 'tun']],
  ['vm testbed', ['qemu', 'busybox', 'guestKernel']],
  ['gen', []],
  ['report --png', ['playwright', 'chromium']],
]

function requirementRow(section: string, id: RequirementId, a: Answer): DoctorRow {
  const r = REQUIREMENTS[id]
  return a.ok
    ? {section, name: r.label, ok: true, value: a.found ?? 'present'}
    : {
        section,
        name: r.label,
        ok: false,
        value: a.why ?? 'missing',
        missing: missingLine(id, a),
        exitCode: r.exit,
      }
}

const fact = (section: string, name: string, value: string): DoctorRow => ({section, name, ok: null, value})

/** glibc and libstdc++ against what the prebuilt addon declares. */
function libraryRows(): DoctorRow[] {
  const floor = declaredPrebuilds()[hostPlatform()]?.addon
  const glibc = hostGlibc()
  const cxx = hostLibstdcxx()
  const vs = (have: string | undefined, need: string | undefined) =>
    !have || !need ? null : compareVersions(have, need) >= 0
  return [
    {
      section: 'host',
      name: 'glibc',
      ok: vs(glibc, floor?.glibc),
      value: `${glibc ?? 'not glibc'}${floor ? ` (the prebuilt addon needs ${floor.glibc})` : ''}`,
    },
    {
      section: 'host',
      name: 'libstdc++',
      ok: vs(cxx?.glibcxx, floor?.glibcxx),
      value: `${cxx ? `GLIBCXX_${cxx.glibcxx} (${cxx.path})` : 'not loaded'}${floor ? ` (the prebuilt addon needs GLIBCXX_${floor.glibcxx}, CXXABI_${floor.cxxabi})` : ''}`,
    },
    fact(
      'host',
      'kernel',
      `${release()} (the prebuilt guest agent needs ${declaredPrebuilds()[hostPlatform()]?.agent.kernel ?? '?'})`,
    ),
  ]
}

/** KVM as a guest would get it: the accel probe `testbed up` runs (cached per kernel), and vhost-net. */
async function vmFacts(): Promise<DoctorRow[]> {
  const rows: DoctorRow[] = []
  const qemu = answerLocally(REQUIREMENTS.qemu.probe)
  if (qemu.ok) rows.push(fact('vm testbed', 'qemu version', qemuVersion(qemu.found)))
  let kvm = 'unknown: no guest kernel to probe with'
  if (qemu.ok) {
    try {
      const kernel = chooseKernel()
      const scratch = mkdtempSync(join(tmpdir(), 'mqb-doctor-'))
      try {
        const d = await chooseAccel('auto', kernel, scratch)
        kvm = d.accel === 'kvm' ? `usable (${d.reason})` : `not usable: ${d.reason}; guests run under TCG`
      } finally {
        rmSync(scratch, {recursive: true, force: true})
      }
    } catch {}
  } else kvm = 'unknown: no qemu to probe with'
  rows.push(fact('vm testbed', 'KVM', kvm))
  const vhost = answerLocally({kind: 'device', path: '/dev/vhost-net'})
  rows.push(
    fact('vm testbed', 'vhost-net', vhost.ok ? 'usable (/dev/vhost-net)' : `not usable: ${vhost.why}`),
  )
  return rows
}

/** AF_XDP as gen would get it: a socket bound on loopback's queue 0 (copy mode; zero-copy is the NIC driver's). */
function xdpFact(addonOk: boolean): DoctorRow {
  if (!addonOk) return fact('gen', 'AF_XDP', 'unknown: the native addon does not load')
  try {
    const mode = gen.probeXdp({dev: 'lo', xdpMode: 'copy', burst: 32, frameSize: 64})
    return fact('gen', 'AF_XDP', `usable (${mode} mode on lo; zero-copy depends on the NIC driver)`)
  } catch (err) {
    const e = fromNative(err, {capability: 'CAP_NET_RAW'})
    return fact('gen', 'AF_XDP', `not usable: ${e instanceof MqbError ? e.message.split(':')[0] : e.message}`)
  }
}

export async function doctor(): Promise<DoctorReport> {
  const rows: DoctorRow[] = []
  for (const [section, ids] of SECTIONS)
    for (const id of ids) rows.push(requirementRow(section, id, answerLocally(REQUIREMENTS[id].probe)))
  const addonOk = rows[0]!.ok === true
  rows.push(...libraryRows(), ...(await vmFacts()), xdpFact(addonOk))
  // Facts join their section's requirements on screen (a stable sort keeps each section's order).
  const order = SECTIONS.map(([s]) => s)
  rows.sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section))
  return {
    version: mqbenchVersion(),
    platform: hostPlatform(),
    node: process.version,
    kernel: release(),
    rows,
    missing: rows.filter((r) => r.ok === false).length,
  }
}
