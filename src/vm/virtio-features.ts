// What a virtio-net device offered and what its driver took, by name, from both sides: qemu's
// `x-query-virtio-status` (host, guest and backend features) and the guest's own
// /sys/bus/virtio/devices/*/features. A qemu property asked for whose feature was not negotiated
// is a finding: a packed-ring run that silently fell back to split rings measures the wrong thing.
// Pure: the QMP reply and the sysfs text come in, names and findings go out.

/**
 * Feature bits by number (virtio 1.2 §5.1.3 for the network device, §6 for the reserved
 * transport bits; Linux's uapi virtio_net.h and virtio_config.h). Bits not listed are kept as
 * `bit N`, never dropped.
 */
export const VIRTIO_NET_FEATURE_BITS: Readonly<Record<number, string>> = {
  0: 'VIRTIO_NET_F_CSUM',
  1: 'VIRTIO_NET_F_GUEST_CSUM',
  2: 'VIRTIO_NET_F_CTRL_GUEST_OFFLOADS',
  3: 'VIRTIO_NET_F_MTU',
  5: 'VIRTIO_NET_F_MAC',
  6: 'VIRTIO_NET_F_GSO',
  7: 'VIRTIO_NET_F_GUEST_TSO4',
  8: 'VIRTIO_NET_F_GUEST_TSO6',
  9: 'VIRTIO_NET_F_GUEST_ECN',
  10: 'VIRTIO_NET_F_GUEST_UFO',
  11: 'VIRTIO_NET_F_HOST_TSO4',
  12: 'VIRTIO_NET_F_HOST_TSO6',
  13: 'VIRTIO_NET_F_HOST_ECN',
  14: 'VIRTIO_NET_F_HOST_UFO',
  15: 'VIRTIO_NET_F_MRG_RXBUF',
  16: 'VIRTIO_NET_F_STATUS',
  17: 'VIRTIO_NET_F_CTRL_VQ',
  18: 'VIRTIO_NET_F_CTRL_RX',
  19: 'VIRTIO_NET_F_CTRL_VLAN',
  20: 'VIRTIO_NET_F_CTRL_RX_EXTRA',
  21: 'VIRTIO_NET_F_GUEST_ANNOUNCE',
  22: 'VIRTIO_NET_F_MQ',
  23: 'VIRTIO_NET_F_CTRL_MAC_ADDR',
  24: 'VIRTIO_F_NOTIFY_ON_EMPTY',
  27: 'VIRTIO_F_ANY_LAYOUT',
  28: 'VIRTIO_RING_F_INDIRECT_DESC',
  29: 'VIRTIO_RING_F_EVENT_IDX',
  // Legacy devices' BAD_FEATURE; qemu names the bit for vhost-user's protocol negotiation.
  30: 'VHOST_USER_F_PROTOCOL_FEATURES',
  32: 'VIRTIO_F_VERSION_1',
  33: 'VIRTIO_F_ACCESS_PLATFORM',
  34: 'VIRTIO_F_RING_PACKED',
  35: 'VIRTIO_F_IN_ORDER',
  36: 'VIRTIO_F_ORDER_PLATFORM',
  37: 'VIRTIO_F_SR_IOV',
  38: 'VIRTIO_F_NOTIFICATION_DATA',
  39: 'VIRTIO_F_NOTIF_CONFIG_DATA',
  40: 'VIRTIO_F_RING_RESET',
  41: 'VIRTIO_F_ADMIN_VQ',
  52: 'VIRTIO_NET_F_VQ_NOTF_COAL',
  53: 'VIRTIO_NET_F_NOTF_COAL',
  54: 'VIRTIO_NET_F_GUEST_USO4',
  55: 'VIRTIO_NET_F_GUEST_USO6',
  56: 'VIRTIO_NET_F_HOST_USO',
  57: 'VIRTIO_NET_F_HASH_REPORT',
  59: 'VIRTIO_NET_F_GUEST_HDRLEN',
  60: 'VIRTIO_NET_F_RSS',
  61: 'VIRTIO_NET_F_RSC_EXT',
  62: 'VIRTIO_NET_F_STANDBY',
  63: 'VIRTIO_NET_F_SPEED_DUPLEX',
}

const BIT_OF: ReadonlyMap<string, number> = new Map(
  Object.entries(VIRTIO_NET_FEATURE_BITS).map(([bit, name]) => [name, Number(bit)]),
)

/**
 * The feature each virtio-net-pci property turns on: what "asked for" means when the plan
 * compares the command line with the negotiation. qemu 7.2's `queue_reset` is on by default.
 */
export const PROPERTY_FEATURES: Readonly<Record<string, string>> = {
  mq: 'VIRTIO_NET_F_MQ',
  rss: 'VIRTIO_NET_F_RSS',
  hash: 'VIRTIO_NET_F_HASH_REPORT',
  packed: 'VIRTIO_F_RING_PACKED',
  queue_reset: 'VIRTIO_F_RING_RESET',
  ctrl_vq: 'VIRTIO_NET_F_CTRL_VQ',
  event_idx: 'VIRTIO_RING_F_EVENT_IDX',
  indirect_desc: 'VIRTIO_RING_F_INDIRECT_DESC',
  guest_announce: 'VIRTIO_NET_F_GUEST_ANNOUNCE',
}

/** One side's features as qemu reports them (`VirtioDeviceFeatures`). */
export interface QmpFeatures {
  transports?: string[]
  'dev-features'?: string[]
  /** Bits qemu has no name for, as a number (qemu 7.2 does not name RING_RESET, bit 40). */
  'unknown-dev-features'?: number
}

export interface QmpVirtioStatus {
  'host-features': QmpFeatures
  'guest-features': QmpFeatures
  'backend-features': QmpFeatures
  'num-vqs'?: number
}

/** The three sides by name, sorted, as a results file keeps them. */
export interface NegotiatedFeatures {
  /** Offered by the device (qemu's host features). */
  offered: string[]
  /** Taken by the guest's driver, as qemu saw the driver write them. */
  negotiated: string[]
  /** What the backend (tap, vhost) supports; empty for a backend qemu does not ask. */
  backend: string[]
}

/** qemu's "VIRTIO_NET_F_MQ: Multiqueue with ..." entries, and its unknown bits, as names. */
export function qmpFeatureNames(f: QmpFeatures): string[] {
  const named = [...(f.transports ?? []), ...(f['dev-features'] ?? [])].map((s) => s.split(':')[0].trim())
  return sortFeatures([...named, ...bitNames(BigInt(f['unknown-dev-features'] ?? 0))])
}

export function fromQmpStatus(status: QmpVirtioStatus): NegotiatedFeatures {
  return {
    offered: qmpFeatureNames(status['host-features']),
    negotiated: qmpFeatureNames(status['guest-features']),
    backend: qmpFeatureNames(status['backend-features']),
  }
}

/**
 * The guest's /sys/bus/virtio/devices/virtioN/features: one '0' or '1' per bit, bit 0 first,
 * the features the driver negotiated.
 */
export function sysfsFeatureNames(text: string): string[] {
  const bits = text.trim()
  if (!/^[01]+$/.test(bits)) throw new RangeError(`not a virtio features string: ${bits.slice(0, 80)}`)
  let mask = 0n
  for (let i = 0; i < bits.length; i++) if (bits[i] === '1') mask |= 1n << BigInt(i)
  return sortFeatures(bitNames(mask))
}

function bitNames(mask: bigint): string[] {
  const out: string[] = []
  for (let bit = 0; mask >> BigInt(bit) !== 0n; bit++)
    if ((mask >> BigInt(bit)) & 1n) out.push(VIRTIO_NET_FEATURE_BITS[bit] ?? `bit ${bit}`)
  return out
}

const sortFeatures = (names: string[]) =>
  [...new Set(names)].sort((a, b) => (BIT_OF.get(a) ?? bitNumber(a)) - (BIT_OF.get(b) ?? bitNumber(b)))

const bitNumber = (name: string) => Number(/^bit (\d+)$/.exec(name)?.[1] ?? 1000)

/** A property asked for on the command line, and where its feature went missing. */
export interface FeatureFinding {
  property: string
  feature: string
  /** The first side that lacks it: the device did not offer it, the driver did not take it, or
   * the guest's sysfs does not show what qemu says the driver took. */
  missing: 'offered' | 'negotiated' | 'guest'
}

/**
 * The properties turned on (`packed=on`, `rss=on`, ...) whose feature is not on every side.
 * Properties turned off, or without a feature of their own, are not judged here.
 */
export function featureFindings(
  properties: Readonly<Record<string, string>>,
  sides: NegotiatedFeatures,
  guestSeen?: readonly string[],
): FeatureFinding[] {
  const findings: FeatureFinding[] = []
  for (const [property, value] of Object.entries(properties)) {
    const feature = PROPERTY_FEATURES[property]
    if (!feature || !['on', 'true', 'yes'].includes(value)) continue
    const missing = !sides.offered.includes(feature)
      ? 'offered'
      : !sides.negotiated.includes(feature)
        ? 'negotiated'
        : guestSeen && !guestSeen.includes(feature)
          ? 'guest'
          : undefined
    if (missing) findings.push({property, feature, missing})
  }
  return findings
}

/** One line per finding, as the plan prints it. */
export const describeFinding = (f: FeatureFinding) =>
  ({
    offered: `${f.property}=on asked for, but the device did not offer ${f.feature}`,
    negotiated: `${f.property}=on asked for and ${f.feature} offered, but the guest's driver did not take it`,
    guest: `qemu says the driver took ${f.feature} (${f.property}=on), but the guest's sysfs does not show it`,
  })[f.missing]

/**
 * The properties of the virtio-net-pci device with this id on a qemu command line (as the
 * results file records it): `mq=on,vectors=6,id=nic0,...` as a record; a bare key is "on".
 */
export function nicProperties(commandLine: string, id = 'nic0'): Record<string, string> {
  for (const m of commandLine.matchAll(/virtio-net-pci,([^\s'"]+)/g)) {
    const props = Object.fromEntries(
      m[1].split(',').map((kv) => {
        const i = kv.indexOf('=')
        return i < 0 ? [kv, 'on'] : [kv.slice(0, i), kv.slice(i + 1)]
      }),
    )
    if (props.id === id) return props
  }
  return {}
}

/** The features a multiqueue reader looks for first, in the order a summary names them. */
const KEY_FEATURES = [
  'VIRTIO_NET_F_MQ',
  'VIRTIO_NET_F_RSS',
  'VIRTIO_NET_F_HASH_REPORT',
  'VIRTIO_F_RING_PACKED',
  'VIRTIO_F_RING_RESET',
  'VIRTIO_NET_F_NOTF_COAL',
]

/**
 * One line for a report: each key feature negotiated, offered but not taken, or not offered,
 * the ring size and the findings. Names lose their VIRTIO_*_F_ prefix.
 */
export function virtioSummary(v: {
  offered: string[]
  negotiated: string[]
  ringSize?: number
  findings: string[]
  unavailable?: string
}): string {
  if (v.unavailable) return `not read: ${v.unavailable}`
  const short = (f: string) => f.replace(/^VIRTIO_(NET_|RING_)?F_/, '')
  const state = (f: string) =>
    v.negotiated.includes(f) ? 'negotiated' : v.offered.includes(f) ? 'offered, not taken' : 'not offered'
  const keys = KEY_FEATURES.map((f) => `${short(f)} ${state(f)}`).join(', ')
  const ring = v.ringSize ? `; ${v.ringSize}-descriptor rings` : ''
  const findings = v.findings.length ? `; findings: ${v.findings.join('; ')}` : ''
  return `${v.negotiated.length} of ${v.offered.length} offered features negotiated: ${keys}${ring}${findings}`
}
