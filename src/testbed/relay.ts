// The relay as the tap testbed sees it: start it over the attached queue fds, read its
// counters as QueueTraffic, notice a failed worker, stop it. Counters restart at every start,
// and the sweep takes deltas within one queue count.
import {ExitCode, MqbError} from '../errors.js'
import type {CleanupRegistry} from '../host/cleanup.js'
import {relay as nativeRelay, type RelayHandle, type RelayStatus} from '../native.js'
import type {QueueTraffic} from '../results/schema.js'

/**
 * Relay counters as QueueTraffic from side A's point of view: tx = frames A sent (relayed A->B),
 * rx = frames A received (relayed B->A); drops = frames either tap refused.
 */
export function relayStatusToTraffic(status: RelayStatus): QueueTraffic[] {
  return status.queues.map((q) => ({
    queue: q.queue,
    source: 'relay' as const,
    txPackets: q.aToB.frames,
    txBytes: q.aToB.bytes,
    rxPackets: q.bToA.frames,
    rxBytes: q.bToA.bytes,
    drops: q.aToB.drops + q.bToA.drops,
  }))
}

/** after - before, queue by queue; a queue absent before counts from zero. */
export function diffQueueTraffic(before: QueueTraffic[], after: QueueTraffic[]): QueueTraffic[] {
  return after.map((a) => {
    const b = before.find((x) => x.queue === a.queue && x.source === a.source)
    return {
      ...a,
      txPackets: a.txPackets - (b?.txPackets ?? 0),
      txBytes: a.txBytes - (b?.txBytes ?? 0),
      rxPackets: a.rxPackets - (b?.rxPackets ?? 0),
      rxBytes: a.rxBytes - (b?.rxBytes ?? 0),
      drops: a.drops - (b?.drops ?? 0),
    }
  })
}

export class TapRelay {
  private handle?: RelayHandle
  private unregister?: () => void
  private lastFailure?: string

  constructor(
    private readonly label: string,
    private readonly vnetHdrLen: number,
    private readonly cleanup: CleanupRegistry,
    private readonly cpus: number[] = [],
  ) {}

  /** (Re)starts the relay over queue pairs fdsA[i] <-> fdsB[i]. */
  start(fdsA: number[], fdsB: number[]): void {
    this.stop()
    this.handle = nativeRelay.start({fdsA, fdsB, cpus: this.cpus, vnetHdrLen: this.vnetHdrLen})
    const h = this.handle
    this.unregister = this.cleanup.add(`relay of ${this.label}`, () => nativeRelay.stop(h))
  }

  /** Stops the workers; a failure they reported is kept for check(). */
  stop(): void {
    if (!this.handle) return
    const status = nativeRelay.status(this.handle)
    if (status.failed) this.lastFailure = status.error
    this.unregister?.()
    this.handle = undefined
    this.unregister = undefined
  }

  status(): RelayStatus | undefined {
    return this.handle ? nativeRelay.status(this.handle) : undefined
  }

  queueTraffic(): QueueTraffic[] {
    const s = this.status()
    return s ? relayStatusToTraffic(s) : []
  }

  /** Throws when a worker failed (the relay then stopped all of them). */
  check(): void {
    const s = this.status()
    const failure = s?.failed ? s.error : this.lastFailure
    if (failure) throw new MqbError(`the tap relay of ${this.label} failed: ${failure}`, ExitCode.partial)
  }
}
