// What a killed run or a failed `testbed up --detach` leaves, as `list` and `down` see it
// (issue 22 points 5 and 7): one verdict per object, and `down NAME` removes a lone log.
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {classifyObjects, removeTestbed} from '../../src/testbed/registry.js'
import {mqbench} from '../helpers/mqbench-cli.js'
import {privateStateDir} from '../helpers/state-dir.js'

const state = privateStateDir('mqb-leftovers-')

const bed = (name: string, alive: boolean, made = true) => ({
  name,
  alive,
  nsA: made ? `mqb-${name}-h` : '',
  nsB: '',
  devA: made ? `mqb-${name}-b` : '',
  devB: made ? 'eth0' : '',
})

describe('classifyObjects', () => {
  it("lists a killed run's namespace as stale only, even with its guest still running inside", () => {
    const running = new Set(['mqb-s1a2b-h', 'mqb-other-a'])
    const r = classifyObjects(
      [bed('s1a2b', false), bed('live', true), bed('boot', true, false)],
      ['mqb-s1a2b-h', 'mqb-live-h', 'mqb-boot-h', 'mqb-other-a', 'mqb-gone-a'],
      (o) => running.has(o),
    )
    expect(r.stale).toEqual(['mqb-s1a2b-h', 'mqb-gone-a'])
    expect(r.inUse).toEqual(['mqb-other-a'])
    // one verdict per object
    expect(r.stale.filter((o) => r.inUse.includes(o))).toEqual([])
  })
})

describe('testbed down NAME', () => {
  it('removes the log a failed --detach left, and says so', () => {
    const log = join(state, 'mqbd7.log')
    writeFileSync(log, 'mqbench: the guest did not come up within 60 s (tcg)\n')
    expect(removeTestbed('mqbd7')).toEqual([log])
    expect(existsSync(log)).toBe(false)
    expect(() => removeTestbed('mqbd7')).toThrow(/no testbed named mqbd7/)
  })
})

describe('a failed testbed up --detach', () => {
  it('leaves nothing behind: its reason is the message, its log goes', async () => {
    const r = await mqbench(['testbed', 'up', 'mqbd8', '--kind', 'dev:mqbnosuch0', '--detach'])
    expect(r.status, r.stderr).toBe(3)
    expect(r.stderr).toMatch(/^mqbench: the dev:mqbnosuch0 testbed needs a remote `mqbench server`/)
    expect(existsSync(join(state, 'mqbd8.log'))).toBe(false)
    expect(existsSync(join(state, 'mqbd8.json'))).toBe(false)
  }, 60_000)
})
