// What a guest gets when its caller does not say: one home for the memory and accelerator that
// `testbed up --kind vm`, `scale --testbed vm` and `check vm` boot with (the vCPU count is chosen
// per accelerator in vcpus.ts).
import type {AccelChoice} from './accel.js'

export const GUEST_DEFAULTS = {memoryMiB: 512, accel: 'auto'} as const satisfies {
  memoryMiB: number
  accel: AccelChoice
}

/** `o` with the guest's defaults where it gives none. */
export function withGuestDefaults<T extends {memoryMiB?: number; accel?: AccelChoice}>(
  o: T,
): T & {memoryMiB: number; accel: AccelChoice} {
  return {...o, memoryMiB: o.memoryMiB ?? GUEST_DEFAULTS.memoryMiB, accel: o.accel ?? GUEST_DEFAULTS.accel}
}
