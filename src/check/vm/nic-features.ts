// The plan's judge of a NIC feature a variant asked for (packed rings now; RSS and hash reports
// next): the feature must be offered by qemu, taken by the guest's driver and seen in the guest's
// sysfs, as the guest record's `virtio` says (testbed/vm.ts reads it at boot). A variant whose
// feature quietly fell away would otherwise run the same checks on a split-ring device.
import type {VirtioRecord} from '../../results/schema.js'
import {NIC_FEATURE_PROPERTIES, type NicFeature} from '../../vm/qemu-args.js'
import {PROPERTY_FEATURES} from '../../vm/virtio-features.js'
import {verdict} from './judge.js'
import type {PlanCheck} from './types.js'

export function nicFeatureCheck(v: VirtioRecord | undefined, f: NicFeature): PlanCheck {
  const property = NIC_FEATURE_PROPERTIES[f]
  const feature = PROPERTY_FEATURES[property]
  const title = `${property}=on: ${feature} offered by qemu, taken by the driver and seen in the guest`
  if (!v || v.unavailable)
    return verdict(`${f}-negotiated`, title, false, `not read: ${v?.unavailable ?? 'no record'}`)
  const sides: Array<[string, string[]]> = [
    ['offered', v.offered],
    ['negotiated', v.negotiated],
    ['guest sysfs', v.guest],
  ]
  const missing = sides.filter(([, names]) => !names.includes(feature)).map(([side]) => side)
  return verdict(
    `${f}-negotiated`,
    title,
    missing.length === 0,
    missing.length ? `${feature} missing: ${missing.join(', ')}` : `${feature} on all three sides`,
  )
}

/**
 * A Fedora case on a NIC variant is the same case on another device: its id gains the features
 * (mq_packed, stress_packed), its title says them, and it joins the extended set beside the default.
 */
export function variantOf(
  base: {id: string; title: string},
  features: readonly NicFeature[],
): {id: string; title: string; set: 'default' | 'extended'} {
  if (!features.length) return {...base, set: 'default'}
  return {
    id: [base.id, ...features].join('_'),
    title: `${base.title} (${features.map((f) => `${NIC_FEATURE_PROPERTIES[f]}=on`).join(', ')})`,
    set: 'extended',
  }
}
