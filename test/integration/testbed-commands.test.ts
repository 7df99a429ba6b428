// `mqbench testbed up|list|down` as a person uses them: a detached testbed that holds, a name
// in use refused with exit 12, down removing it all.
import {afterAll, expect, it} from 'vitest'
import {mqbench, upDetached} from '../helpers/mqbench-cli.js'
import {leftovers, uniqueTag} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'
import {run} from '../../src/util/exec.js'

const names: string[] = []
afterAll(async () => {
  for (const n of names) await mqbench(['testbed', 'down', n])
})

describeNet('testbed commands', () => {
  for (const kind of ['tap', 'veth']) {
    it(`holds a detached ${kind} testbed until down`, async () => {
      const name = `c${uniqueTag().slice(0, 4)}`
      names.push(name)
      const up = await upDetached(name, kind, 2)
      expect(up.status, up.stderr).toBe(0)
      const rec = JSON.parse(up.stdout)
      expect(rec).toMatchObject({name, kind, maxQueues: 2, nsA: `mqb-${name}-a`, nsB: `mqb-${name}-b`})

      // the link works: B answers A's TCP (the tap testbed needs its relay alive for that)
      const c = run(
        'ip',
        ['netns', 'exec', rec.nsA, 'bash', '-c', `exec 3<>/dev/tcp/${rec.ipB}/9 && echo open`],
        {timeoutMs: 5000},
      )
      expect(c.stderr + c.stdout).toMatch(/refused/)

      const list = JSON.parse((await mqbench(['testbed', 'list', '--json'])).stdout)
      expect(list.testbeds.find((t: {name: string}) => t.name === name)).toMatchObject({
        alive: true,
        pid: rec.pid,
      })

      const again = await mqbench(['testbed', 'up', name, '--kind', kind])
      expect(again.status).toBe(12)
      expect(again.stderr).toMatch(/exists already/)

      const down = await mqbench(['testbed', 'down', name, '--json'])
      expect(down.status, down.stderr).toBe(0)
      expect(JSON.parse(down.stdout).removed.join(' ')).toMatch(new RegExp(`process ${rec.pid} stopped`))
      expect(leftovers(name)).toEqual([])
      expect(
        JSON.parse((await mqbench(['testbed', 'list', '--json'])).stdout).testbeds.map(
          (t: {name: string}) => t.name,
        ),
      ).not.toContain(name)
    })
  }

  it('says what to do for an unknown testbed and a bad name', async () => {
    const r = await mqbench(['testbed', 'down', 'nosuch9'])
    expect(r.status).toBe(5)
    expect(r.stderr).toMatch(/no testbed named nosuch9; see `mqbench testbed list`/)
    const bad = await mqbench(['testbed', 'up', 'Bad-Name'])
    expect(bad.status).toBe(3)
    expect(bad.stderr).toMatch(/1-9 lower-case letters or digits/)
  })
})
