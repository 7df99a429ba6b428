// What the cases read from a guest and its host tap, in one place: channels (the agent's
// ETHTOOL_GCHANNELS), the snapshot of the guest NIC (sysfs queues, /proc/interrupts, ethtool -S)
// and the host tap's attached/detached queues. Reading only: changes go through the testbed.
import type {DeviceSnapshot} from '../../observe/index.js'
import {GUEST_DEV, type VmBed} from '../../testbed/vm.js'
import {guestSnapshot} from '../../vm/guest-observe.js'

export interface GuestFacts {
  channels: {combined: number; maxCombined: number}
  snapshot: DeviceSnapshot
  tap: {numqueues: number; numdisabled: number; multiQueue: boolean}
}

export async function readGuestFacts(bed: VmBed, dev = GUEST_DEV): Promise<GuestFacts> {
  const channels = await bed.agent.channelsGet(dev)
  const snapshot = await guestSnapshot(bed.agent, dev)
  return {channels, snapshot, tap: bed.tapState()}
}

/** The queue indexes 0..n-1 that lack an `input.K` or `output.K` interrupt line, as "input.1, output.1". */
export function missingQueueLines(s: DeviceSnapshot, n: number): string[] {
  const have = new Set(
    s.queueInterrupts
      .filter((q) => q.queue !== undefined)
      .map((q) => `${q.direction === 'rx' ? 'input' : 'output'}.${q.queue}`),
  )
  const missing: string[] = []
  for (let k = 0; k < n; k++)
    for (const d of ['input', 'output']) if (!have.has(`${d}.${k}`)) missing.push(`${d}.${k}`)
  return missing
}
