// `mqbench gen` refuses bad input with one line and a distinct exit code, before it needs any
// privilege (runs the built CLI: `npm test` builds dist/ first).
import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'

function gen(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/run.js', 'gen', ...args], {encoding: 'utf8', timeout: 30_000})
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('mqbench:'))
  return {status: r.status, lines, stdout: r.stdout}
}

describe('mqbench gen input errors', () => {
  it('frame size out of range: exit 3, also under its old name --size', () => {
    for (const flag of ['--frame-size', '--size']) {
      const r = gen('--dev', 'lo', flag, '30')
      expect(r.status).toBe(3)
      expect(r.lines).toEqual(['mqbench: --frame-size: frame size 30 is out of range (60 to 9000 bytes)'])
    }
  })

  it('malformed rate: exit 3', () => {
    const r = gen('--dev', 'lo', '--rate', '5Tbit')
    expect(r.status).toBe(3)
    expect(r.lines[0]).toMatch(/^mqbench: --rate: rate '5Tbit' is not a rate/)
  })

  it('unknown interface: exit 5, listing the ones that exist', () => {
    const r = gen('--dev', 'mqbnosuch0', '--duration', '1s')
    expect(r.status).toBe(5)
    expect(r.lines).toHaveLength(1)
    expect(r.lines[0]).toMatch(/^mqbench: no interface mqbnosuch0; interfaces there: .*\blo\b/)
  })

  it('options of another backend: exit 3, before anything is opened', () => {
    const q = gen('--dev', 'lo', '--backend', 'xdp', '--qdisc', '--duration', '1s')
    expect(q.status).toBe(3)
    expect(q.lines).toEqual([
      'mqbench: --qdisc is an option of the packet backend; --backend xdp does not use it',
    ])
    const m = gen('--dev', 'lo', '--backend', 'packet', '--xdp-mode', 'copy', '--duration', '1s')
    expect(m.status).toBe(3)
    expect(m.lines).toEqual(['mqbench: --xdp-mode copy needs --backend xdp (or auto)'])
  })

  it('unknown namespace: exit 5', () => {
    const r = gen('--dev', 'lo', '--netns', 'mqb-nosuch-ns', '--duration', '1s')
    expect(r.status).toBe(5)
    expect(r.lines[0]).toMatch(/^mqbench: no network namespace mqb-nosuch-ns/)
  })
})
