// The observation layer's public face: readers of kernel state for one device, snapshots and
// deltas (the scale sweep takes them every iteration), and the configuration in force.
export type {InterruptDelta, QueueTraffic, SoftnetDelta, ConfigInForce} from '../results/schema.js'
export {
  parseInterrupts,
  deviceQueueInterrupts,
  interruptDeltas,
  matchQueueInterruptName,
  dominantCpu,
} from './interrupts.js'
export type {InterruptTable, InterruptLine, QueueInterrupt, QueueDirection} from './interrupts.js'
export {parseSoftnetStat, softnetDeltas} from './softnet.js'
export type {SoftnetRow} from './softnet.js'
export {parseEthtoolStats, parseEthtoolFeatures, parseEthtoolDriver, ethtoolQueueStats} from './ethtool.js'
export type {EthtoolQueueStats, DriverInfo} from './ethtool.js'
export {parseCpuMask, formatCpuMask} from './sysfs.js'
export {observeIO, parseDeviceDump, NETNS_SCRIPT} from './io.js'
export type {ObserveIO, ObserveOptions, DeviceFiles} from './io.js'
export {takeSnapshot, takeSnapshotWith, observeDelta, queueTraffic} from './snapshot.js'
export type {DeviceSnapshot} from './snapshot.js'
export {
  readConfigInForce,
  readDeviceConfig,
  readDeviceConfigWith,
  readSysfsQueueCounts,
  toConfigInForce,
} from './config.js'
export type {DeviceConfig, QueueIrq} from './config.js'
