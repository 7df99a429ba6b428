// tp-qemu mq_enabled_chk / boot_with_max_queues, without ethtool at first: a guest booted with
// more queue pairs than vCPUs shows max combined = the queues qemu gave and enables
// min(queues, vCPUs) pairs by itself (Linux since 4.x; the kernels of the Fedora page's time
// enabled one and needed `ethtool -L`: the case records which). Three witnesses agree (channels,
// sysfs, the host tap's attached/detached queues), and the guest's own `ethtool -l` says the same.
import type {Channels} from '../../../native.js'
import {parseEthtoolChannels} from '../../../observe/ethtool.js'
import {GUEST_DEV} from '../../../testbed/vm.js'
import {readGuestFacts, type GuestFacts} from '../guest-facts.js'
import {verdict} from '../judge.js'
import type {CaseOutcome, GuestVariant, PlanCheck, PlanParams, VmCase} from '../types.js'

/** More queue pairs than vCPUs, so that min() shows: twice the vCPUs (4 on 2), at least the plan's N. */
export const defaultStateQueues = (p: PlanParams) => Math.max(p.queues, 2 * p.vcpus)

export interface DefaultStateEvidence {
  queues: number
  vcpus: number
  /** channels as the guest had them before anything was set */
  probe: {combined: number; maxCombined: number}
  /** after `ethtool -L combined min(queues, vCPUs)`, when the probe had fewer */
  afterSet?: {combined: number; setStatus: number; setError: string}
  facts: Pick<GuestFacts, 'tap'> & {sysfs: {rx: number; tx: number}}
  /** the guest's `ethtool -l` parsed, or its text when it did not parse */
  ethtoolL: Channels | string
}

export function judgeDefaultState(e: DefaultStateEvidence): PlanCheck[] {
  const want = Math.min(e.queues, e.vcpus)
  const now = e.afterSet?.combined ?? e.probe.combined
  const how = e.afterSet
    ? `the guest enabled ${e.probe.combined} at probe and needed ethtool -L (exit ${e.afterSet.setStatus}${e.afterSet.setError ? `: ${e.afterSet.setError}` : ''}), then ${e.afterSet.combined}`
    : `the guest enabled ${e.probe.combined} at probe, without ethtool`
  const {rx, tx} = e.facts.sysfs
  const {numqueues, numdisabled} = e.facts.tap
  const l = e.ethtoolL
  return [
    verdict(
      'max-combined',
      `max combined = the ${e.queues} queues qemu was given`,
      e.probe.maxCombined === e.queues,
      `max combined ${e.probe.maxCombined}`,
    ),
    verdict(
      'current-combined',
      `current combined = min(${e.queues} queues, ${e.vcpus} vCPUs) = ${want}`,
      now === want,
      how,
    ),
    verdict(
      'sysfs-queues',
      `/sys/class/net/${GUEST_DEV}/queues has ${want} rx-* and ${want} tx-*`,
      rx === want && tx === want,
      `${rx} rx-*, ${tx} tx-*`,
    ),
    verdict(
      'tap-queues',
      `the host tap has ${want} queues attached and ${e.queues - want} detached`,
      numqueues === want && numdisabled === e.queues - want,
      `${numqueues} attached, ${numdisabled} detached`,
    ),
    verdict(
      'ethtool-l',
      "the guest's ethtool -l says the same (parsed at any width)",
      typeof l !== 'string' && l.maxCombined === e.probe.maxCombined && l.combined === now,
      typeof l === 'string'
        ? `unparsed: ${l.split('\n').slice(0, 3).join(' | ')}`
        : `max ${l.maxCombined}, current ${l.combined}`,
    ),
  ]
}

export function makeDefaultStateCase(variant: Omit<GuestVariant, 'queues' | 'vcpus'> = {}): VmCase {
  return {
    id: 'default_state',
    title: 'default state after boot: max combined = queues, current = min(queues, vCPUs)',
    source: 'tp-qemu',
    set: 'default',
    boundMs: () => 90_000,
    async run(ctx): Promise<CaseOutcome> {
      const queues = defaultStateQueues(ctx.params)
      const vcpus = ctx.params.vcpus
      ctx.phase(`booting a guest with ${queues} queues on ${vcpus} vCPUs`)
      const bed = await ctx.boot({...variant, queues, vcpus})
      const {agent} = bed.guest
      const probe = await agent.channelsGet(GUEST_DEV)
      const want = Math.min(queues, vcpus)
      let afterSet: DefaultStateEvidence['afterSet']
      if (probe.combined !== want) {
        ctx.phase(`ethtool -L ${GUEST_DEV} combined ${want}`)
        const r = await agent.exec(['ethtool', '-L', GUEST_DEV, 'combined', String(want)])
        const read = await agent.channelsGet(GUEST_DEV)
        afterSet = {
          combined: read.combined,
          setStatus: r.status,
          setError: r.stderr.trim().split('\n')[0] ?? '',
        }
      }
      const f = await readGuestFacts(bed)
      const l = await agent.exec(['ethtool', '-l', GUEST_DEV])
      const checks = judgeDefaultState({
        queues,
        vcpus,
        probe,
        afterSet,
        facts: {tap: f.tap, sysfs: f.snapshot.queueCounts},
        ethtoolL: parseEthtoolChannels(l.stdout) ?? l.stdout + l.stderr,
      })
      return {
        checks,
        figures: {queues, vcpus, probeCombined: probe.combined, enabledAtProbe: !afterSet},
      }
    },
  }
}

export const defaultStateCase = makeDefaultStateCase()
