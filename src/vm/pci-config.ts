// A PCI function's configuration space as sysfs gives it (/sys/bus/pci/devices/X/config: 256
// bytes to root on conventional PCI), read without lspci: the guest carries busybox, not pciutils.
// The capability list is a linked list in config space; the MSI-X capability's Message Control
// word holds the table size the device offers (qemu's `vectors=`), the guest's allocation is
// elsewhere (the entries of msi_irqs).

/** PCI capability ids (PCI Local Bus spec 3.0, appendix H) that a virtio device shows. */
export const CAP_ID = {msi: 0x05, vendor: 0x09, msix: 0x11} as const

export interface PciCapability {
  id: number
  /** offset of the capability's header in config space */
  offset: number
}

/** Status register bit 4: the function has a capability list at the pointer in 0x34. */
const STATUS_CAP_LIST = 0x10

/**
 * The capabilities in list order. A list that loops or points outside the bytes read (a config
 * space cut short: a non-root reader gets 64 bytes) ends the walk; `error` says which.
 */
export function pciCapabilities(config: Uint8Array): {caps: PciCapability[]; error?: string} {
  if (config.length < 0x40)
    return {caps: [], error: `config space is ${config.length} bytes, under the 64 of a header`}
  const status = config[0x06] | (config[0x07] << 8)
  if (!(status & STATUS_CAP_LIST)) return {caps: []}
  const caps: PciCapability[] = []
  const seen = new Set<number>()
  // Pointers are dword aligned (the low two bits are reserved) and a header never sits in the
  // 64-byte standard header; 48 capabilities fill the rest of 256 bytes.
  for (let ptr = config[0x34] & 0xfc; ptr !== 0; ptr = config[ptr + 1] & 0xfc) {
    if (ptr < 0x40 || ptr + 1 >= config.length)
      return {
        caps,
        error: `capability pointer 0x${ptr.toString(16)} is outside the ${config.length} bytes read`,
      }
    if (seen.has(ptr) || caps.length >= 48)
      return {caps, error: `the capability list loops at 0x${ptr.toString(16)}`}
    seen.add(ptr)
    caps.push({id: config[ptr], offset: ptr})
  }
  return {caps}
}

export interface MsixCapability {
  offset: number
  /** Message Control bits 10:0 plus one: the vectors the device offers */
  tableSize: number
  /** Message Control bit 15: the guest driver turned MSI-X on */
  enabled: boolean
  /** Message Control bit 14 */
  functionMask: boolean
}

/** The MSI-X capability (id 0x11), or why there is none. */
export function msixCapability(config: Uint8Array): MsixCapability | {error: string} {
  const {caps, error} = pciCapabilities(config)
  const cap = caps.find((c) => c.id === CAP_ID.msix)
  if (!cap) return {error: error ?? `no MSI-X capability (capabilities ${describeCaps(caps)})`}
  if (cap.offset + 3 >= config.length) return {error: 'the MSI-X capability is cut short'}
  const control = config[cap.offset + 2] | (config[cap.offset + 3] << 8)
  return {
    offset: cap.offset,
    tableSize: (control & 0x7ff) + 1,
    enabled: (control & 0x8000) !== 0,
    functionMask: (control & 0x4000) !== 0,
  }
}

export const describeCaps = (caps: PciCapability[]) =>
  caps.length
    ? caps.map((c) => `0x${c.id.toString(16).padStart(2, '0')}@0x${c.offset.toString(16)}`).join(' ')
    : 'none'
