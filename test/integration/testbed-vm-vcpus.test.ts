// testbed up --kind vm with far more vCPUs than this host has, under TCG (issue 22 point 7): it
// used to wait 60 s and fail (exit 5), leaving NAME.log that `down NAME` could not remove. Now it
// is refused before qemu starts (exit 3, naming the bound), foreground and --detach alike, and
// leaves nothing: no namespace, no record, no log. No guest boots here.
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {onlineCpus} from '../../src/host/cpus.js'
import {stateDir} from '../../src/testbed/registry.js'
import {TCG_VCPUS_PER_HOST_CPU} from '../../src/vm/vcpus.js'
import {mqbench} from '../helpers/mqbench-cli.js'
import {leftovers} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const bound = TCG_VCPUS_PER_HOST_CPU * onlineCpus().length
const tooMany = String(Math.min(64, bound + 1))

describeNet('testbed up --kind vm --vcpus above 4x the host CPUs under TCG', () => {
  for (const [name, extra] of [
    ['vcpuf', []],
    ['vcpud', ['--detach']],
  ] as const)
    it(`is refused with exit 3 and leaves nothing${extra.length ? ' (--detach)' : ''}`, async () => {
      const r = await mqbench([
        'testbed',
        'up',
        name,
        '--kind',
        'vm',
        '--accel',
        'tcg',
        '--vcpus',
        tooMany,
        ...extra,
      ])
      expect(r.status, r.stderr).toBe(3)
      expect(r.stderr).toBe(
        `mqbench: --vcpus ${tooMany} is more than ${bound} (${TCG_VCPUS_PER_HOST_CPU}x this host's ${onlineCpus().length} CPUs): under TCG such a guest cannot boot within its bound; use --vcpus ${bound} or fewer\n`,
      )
      expect(leftovers(`mqb-${name}-`)).toEqual([])
      for (const f of [`${name}.json`, `${name}.log`, `${name}.vm`])
        expect(existsSync(join(stateDir(), f)), f).toBe(false)
    }, 120_000)
})
