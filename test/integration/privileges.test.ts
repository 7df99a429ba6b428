// issue 10 case 3: without CAP_NET_ADMIN / CAP_SYS_ADMIN every command that would change the host
// or enter a namespace says which capability is missing (exit 4) before it creates anything, and
// leaves nothing behind. The capabilities are dropped from a root process with setpriv, so the
// test runs wherever the integration tests run.
import {spawnSync} from 'node:child_process'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {ExitCode} from '../../src/errors.js'
import {RUN_JS} from '../helpers/mqbench-cli.js'
import {describeNet} from '../helpers/privileges.js'

const DROP = '-net_admin,-net_raw,-sys_admin'
const tag = `pv${process.pid % 10000}`
const ns = `mqb-${tag}-x`

function unprivileged(args: string[]) {
  const r = spawnSync(
    'setpriv',
    [`--inh-caps=${DROP}`, `--bounding-set=${DROP}`, process.execPath, RUN_JS, ...args],
    {encoding: 'utf8', timeout: 60_000},
  )
  return {status: r.status, stderr: r.stderr.trim()}
}

const leftovers = () =>
  spawnSync('ip', ['netns', 'list'], {encoding: 'utf8'})
    .stdout.split('\n')
    .filter((l) => l.includes(tag) && !l.startsWith(ns))

describeNet('without the capabilities', () => {
  beforeAll(() => {
    spawnSync('ip', ['netns', 'add', ns])
  })
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns])
  })

  it.each([
    [['testbed', 'up', `${tag}t`], /mqbench needs CAP_NET_ADMIN and CAP_SYS_ADMIN/],
    // Refused by the prerequisites table before anything is made (src/prereqs.ts)
    [['testbed', 'up', `${tag}v`, '--kind', 'veth'], /mqbench needs CAP_NET_ADMIN/],
    [['scale', '--queues', '1..2', '--duration', '1s'], /mqbench needs CAP_NET_ADMIN/],
    [
      ['rr', '--netns', ns, '--server', '198.18.0.2', '--duration', '1s'],
      /enter network namespace .*CAP_SYS_ADMIN/,
    ],
    [['gen', '--netns', ns, '--dev', 'lo', '--duration', '1s'], /enter network namespace .*CAP_SYS_ADMIN/],
    [['tune', '--netns', ns, '--dev', 'lo'], /enter network namespace .*CAP_SYS_ADMIN/],
  ])('mqbench %j exits 4 naming the capability and creates nothing', (args, message) => {
    const r = unprivileged(args)
    expect(r.stderr).toMatch(message)
    expect(r.stderr.split('\n').filter((l) => l.startsWith('mqbench:'))).toHaveLength(1)
    expect(r.status).toBe(ExitCode.privilege)
    expect(leftovers()).toEqual([])
  })

  it('a namespace that does not exist is a missing namespace (exit 5), not a privilege error', () => {
    const r = unprivileged(['rr', '--netns', `mqb-${tag}-none`, '--server', '198.18.0.2', '--duration', '1s'])
    expect(r.stderr).toMatch(/no network namespace mqb-\w+-none/)
    expect(r.status).toBe(ExitCode.noDevice)
  })
})
