// `testbed up --detach` (issue 10 case 4): what can be checked is checked before the background
// process starts, and a background process that fails hands its exit code and reason to the
// parent. Runs the built CLI with a private state directory; nothing here creates a namespace.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ExitCode} from '../../src/errors.js'
import {mqbench} from '../helpers/mqbench-cli.js'
import {privateStateDir} from '../helpers/state-dir.js'

const state = privateStateDir('mqb-state-')

describe('testbed up --detach', () => {
  it('refuses flags the background process would refuse, before it starts (exit 3)', async () => {
    const r = await mqbench([
      'testbed',
      'up',
      'mqbd1',
      '--kind',
      'veth',
      '--max-queues',
      '4',
      '--queues',
      '5',
      '--detach',
    ])
    expect(r.status, r.stderr).toBe(ExitCode.badInput)
    expect(r.stderr).toBe('mqbench: --queues 5 is more than --max-queues 4\n')
  })

  it('refuses a name a live testbed holds with exit 12, as the foreground does', async () => {
    // a record held by a live process (this test's)
    writeFileSync(
      join(state, 'mqbd2.json'),
      JSON.stringify({
        name: 'mqbd2',
        kind: 'veth',
        pid: process.pid,
        createdAt: new Date().toISOString(),
        nsA: 'a',
        nsB: 'b',
        devA: 'a',
        devB: 'b',
        ipA: '198.18.0.1',
        ipB: '198.18.0.2',
        maxQueues: 2,
      }),
    )
    const r = await mqbench(['testbed', 'up', 'mqbd2', '--kind', 'veth', '--detach'])
    expect(r.status, r.stderr).toBe(ExitCode.busy)
    expect(r.stderr).toMatch(
      new RegExp(`^mqbench: testbed mqbd2 exists already \\(process ${process.pid}\\)`),
    )
  })

  it("exits with the background process's code and reason when it fails", async () => {
    const r = await mqbench(['testbed', 'up', 'mqbd3', '--kind', 'dev:mqbnosuch0', '--detach'])
    expect(r.status, r.stderr).toBe(ExitCode.badInput)
    expect(r.stderr).toMatch(/^mqbench: the dev:mqbnosuch0 testbed needs a remote `mqbench server`/)
  })
})
