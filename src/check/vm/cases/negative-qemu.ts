// tp-qemu multi_queues_test's qemu-level negative steps (--extended): qemu started with queues=0,
// or with more queues than a tap can hold (the kernel's MAX_TAP_QUEUES, 256), must exit with an
// error, and mqbench must report it as people need it: one line naming qemu's reason, the exit
// code of README's table for a setup the device does not support, and nothing left behind.
import {ExitCode, MqbError} from '../../../errors.js'
import {LIMITS} from '../../../limits.js'
import {verdict} from '../judge.js'
import type {CaseOutcome, PlanCheck, VmCase} from '../types.js'

/** What a refused boot must look like: an MqbError, one line, exit 8 (not supported), qemu's words. */
export function judgeBootRefusal(
  id: string,
  title: string,
  outcome: {error?: unknown; booted?: boolean},
): PlanCheck {
  if (outcome.booted)
    return verdict(id, title, false, 'qemu started and the guest booted: nothing refused it')
  const err = outcome.error
  if (!(err instanceof MqbError))
    return verdict(
      id,
      title,
      false,
      `not one of mqbench's errors: ${err instanceof Error ? err.stack : String(err)}`,
    )
  const oneLine = !err.message.includes('\n')
  return verdict(
    id,
    title,
    oneLine && err.exitCode === ExitCode.unsupported && /qemu/i.test(err.message),
    `exit ${err.exitCode}${err.exitCode === ExitCode.unsupported ? '' : ` (want ${ExitCode.unsupported})`}, ` +
      `${oneLine ? 'one line' : `${err.message.split('\n').length} lines`}: ${err.message.split('\n')[0]}`,
  )
}

export const negativeQemuCase: VmCase = {
  id: 'negative_qemu',
  title: 'qemu with queues=0 or more queues than a tap holds: a clear error',
  source: 'tp-qemu',
  set: 'extended',
  boundMs: () => 120_000,
  async run(ctx): Promise<CaseOutcome> {
    const checks: PlanCheck[] = []
    for (const [id, queues, why] of [
      ['queues-0', 0, 'queues=0'],
      [
        'queues-over-tap',
        LIMITS.maxQueues + 1,
        `queues=${LIMITS.maxQueues + 1}, over the tap's ${LIMITS.maxQueues}`,
      ],
    ] as const) {
      ctx.phase(`starting qemu with ${why}`)
      const outcome = await ctx.boot({queues, uncheckedQueues: true}).then(
        async (bed) => {
          await bed.close()
          return {booted: true}
        },
        (error: unknown) => ({error}),
      )
      checks.push(judgeBootRefusal(id, `qemu with ${why} is refused with one clear line`, outcome))
    }
    return {checks}
  },
}
