// Pieces every testbed kind shares: names, addresses, and reading a queue count back from the
// kernel after changing it.
import {createHash} from 'node:crypto'
import {ExitCode, MqbError, badInput, fromNative} from '../errors.js'
import {ifctl} from '../native.js'
import {readSysfsQueueCounts} from '../observe/config.js'
import {runInNetns, runOk} from '../util/exec.js'
import {OBJECT_PREFIX} from '../host/netns.js'
import type {QueueReadback} from './types.js'

/** `mqb-` + name + `-a` must fit IFNAMSIZ-1 (15) characters. */
export const TESTBED_NAME = /^[a-z0-9]{1,9}$/

export function checkTestbedName(name: string): void {
  if (!TESTBED_NAME.test(name))
    throw badInput(
      `testbed name '${name}' must be 1-9 lower-case letters or digits (it becomes ${OBJECT_PREFIX}NAME-a/-b, and interface names have at most 15 characters)`,
    )
}

export function endpointNames(name: string): {nsA: string; nsB: string; devA: string; devB: string} {
  const a = `${OBJECT_PREFIX}${name}-a`
  const b = `${OBJECT_PREFIX}${name}-b`
  return {nsA: a, nsB: b, devA: a, devB: b}
}

/** 198.18.X.1 and .2 (RFC 2544 benchmarking range), X from the name so that two testbeds differ. */
export function endpointAddresses(name: string): {ipA: string; ipB: string; prefix: number} {
  const x = createHash('sha256').update(name).digest()[0]
  return {ipA: `198.18.${x}.1`, ipB: `198.18.${x}.2`, prefix: 24}
}

/** A short random testbed name for runs that make their own (`scale`). */
export function randomTestbedName(prefix = 's'): string {
  return `${prefix}${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`
}

/** Reads channels and sysfs queues of `dev` and checks that both say `expected` queues. */
export function readBackQueues(
  dev: string,
  netns: string,
  expected: number,
  count: (ch: ReturnType<typeof ifctl.getChannels>) => number,
): QueueReadback {
  let ch
  try {
    ch = ifctl.getChannels(dev, netns)
  } catch (err) {
    throw fromNative(err, {dev})
  }
  const sysfs = readSysfsQueueCounts(dev, {netns})
  const got = count(ch)
  if (got !== expected || sysfs.rx !== expected || sysfs.tx !== expected)
    throw new MqbError(
      `asked ${dev} for ${expected} queues, but the kernel reports ${got} in its channels and rx ${sysfs.rx} / tx ${sysfs.tx} in /sys/class/net/${dev}/queues`,
      ExitCode.unsupported,
    )
  return {
    queueCount: expected,
    channels: {
      ...(ch.maxCombined > 0 || ch.combined > 0 ? {combined: ch.combined, maxCombined: ch.maxCombined} : {}),
      ...(ch.maxRx > 0 ? {rx: ch.rx, maxRx: ch.maxRx} : {}),
      ...(ch.maxTx > 0 ? {tx: ch.tx, maxTx: ch.maxTx} : {}),
    },
    sysfsQueues: sysfs,
  }
}

/** Adds an IPv4 address and brings the link up inside `netns`. */
export function addressAndUp(dev: string, netns: string, cidr: string): void {
  const ns = netns ? ['-n', netns] : []
  for (const args of [
    [...ns, 'addr', 'add', cidr, 'dev', dev],
    [...ns, 'link', 'set', dev, 'up'],
  ]) {
    runOk('ip', args)
  }
}

/**
 * Turns IPv6 off in a testbed namespace: testbeds are IPv4 (198.18.0.0/15), and router and
 * multicast-listener chatter would otherwise add frames to the per-queue counters.
 */
export function quietNamespace(netns: string): void {
  runInNetns(netns, 'sysctl', [
    '-qw',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ])
}
