// How many vCPUs a guest gets. Under TCG every vCPU is a host thread that emulates a CPU, so a
// guest with more vCPUs than the host has CPUs boots by time-slicing them: 64 vCPUs on 2 CPUs did
// not reach its agent within the 60 s bound (issue 22). The default therefore stays within the
// host; an explicit count above it is allowed with a warning up to TCG_VCPUS_PER_HOST_CPU times
// the host's CPUs (8 vCPUs boot on 2 CPUs in check vm's 8-queue case), and refused above.
import {badInput} from '../errors.js'
import type {Accel} from './qemu-args.js'

/** Under TCG, vCPUs per host CPU above which a boot cannot finish within its bound. */
export const TCG_VCPUS_PER_HOST_CPU = 4

export interface VcpuChoice {
  vcpus: number
  /** one line for the person: why the count is what it is, or what it will cost */
  note?: string
}

/**
 * The vCPU count for a guest with `queues` queue pairs: `requested` (--vcpus) when given, else the
 * queue count, which under TCG is bounded by the host's CPUs. Queues above vCPUs stay allowed:
 * the guest enables min(queues, vCPUs) at boot.
 */
export function chooseVcpus(o: {
  requested?: number
  queues: number
  accel: Accel
  hostCpus: number
}): VcpuChoice {
  const {requested, queues, accel, hostCpus} = o
  if (accel !== 'tcg') return {vcpus: requested ?? queues}
  if (requested === undefined) {
    if (queues <= hostCpus) return {vcpus: queues}
    return {
      vcpus: hostCpus,
      note: `TCG: ${hostCpus} vCPUs (the host's CPUs) for ${queues} queue pairs; the guest enables ${hostCpus} of them at boot (give --vcpus to change it)`,
    }
  }
  const bound = TCG_VCPUS_PER_HOST_CPU * hostCpus
  if (requested > bound)
    throw badInput(
      `--vcpus ${requested} is more than ${bound} (${TCG_VCPUS_PER_HOST_CPU}x this host's ${hostCpus} CPUs): under TCG such a guest cannot boot within its bound; use --vcpus ${bound} or fewer`,
    )
  if (requested > hostCpus)
    return {
      vcpus: requested,
      note: `TCG: ${requested} vCPUs on ${hostCpus} host CPUs share them; the boot is slower and the figures are functional only`,
    }
  return {vcpus: requested}
}
