// A guest NIC snapshot from the real capture in test/fixtures/observe/guest-virtio-2q (its
// /proc/interrupts and ethtool -S files): what the figures and the case judges read.
import type {DeviceSnapshot} from '../../src/observe/index.js'
import {ethtoolQueueStats, parseEthtoolStats} from '../../src/observe/ethtool.js'
import {deviceQueueInterrupts, parseInterrupts} from '../../src/observe/interrupts.js'
import {fixture} from '../fixtures/observe/tree.js'

export function captureSnapshot(interruptsFile: string, statsFile: string): DeviceSnapshot {
  const interrupts = parseInterrupts(fixture(`guest-virtio-2q/${interruptsFile}`))
  const stats = parseEthtoolStats(fixture(`guest-virtio-2q/${statsFile}`))
  return {
    interrupts,
    queueInterrupts: deviceQueueInterrupts(interrupts, 'eth0', {virtioName: 'virtio0'}),
    ethtoolStats: stats,
    ethtoolQueues: ethtoolQueueStats(stats, 'virtio_net'),
  } as DeviceSnapshot
}
