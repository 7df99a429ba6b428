// One TCG guest with one queue pair, as a new user meets it (issue 22): `testbed up` names what
// qemu really gave (1 queue pair, the vectors qemu chose, not "0 vectors"), gen with more --queues
// than the guest has is refused in both directions with advice that can work (never ethtool -L on
// the host tap), and `down NAME` leaves nothing. One boot for the whole file.
import {expect, it} from 'vitest'
import {mqbench} from '../helpers/mqbench-cli.js'
import {leftovers} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const name = 'mqbu1'

describeNet('a one-queue guest', () => {
  it('says what it has, refuses what it cannot do, and goes', async () => {
    try {
      const up = await mqbench([
        'testbed',
        'up',
        name,
        '--kind',
        'vm',
        '--max-queues',
        '1',
        '--accel',
        'tcg',
        '--detach',
      ])
      expect(up.status, up.stderr).toBe(0)
      expect(up.stdout).toMatch(
        new RegExp(`^testbed ${name} \\(vm, up to 1 queue\\), held by process \\d+$`, 'm'),
      )
      // qemu 7.2's own default for one queue pair is 2*1+2 (read back over QMP, not assumed)
      expect(up.stdout).toMatch(/, 1 vCPU, 512 MiB, 1 queue pair, [1-9]\d* vectors?; up in /)

      for (const from of [[], ['--from', 'guest']]) {
        const r = await mqbench(['gen', '--testbed', name, '--queues', '2', '--duration', '1s', ...from])
        expect(r.status, r.stderr).toBe(8)
        expect(r.stderr).toBe(
          `mqbench: --queues 2 is above the 1 queue pair the guest's eth0 has enabled; the guest was booted with 1: hold a testbed with more (\`mqbench testbed up NAME --kind vm --max-queues 2\`), or give --queues 1 or fewer\n`,
        )
        expect(r.stderr).not.toMatch(/ethtool -L mqb-/)
      }
    } finally {
      const down = await mqbench(['testbed', 'down', name])
      expect(down.status, down.stderr).toBe(0)
    }
    expect(leftovers(`mqb-${name}-`)).toEqual([])
  }, 240_000)
})
