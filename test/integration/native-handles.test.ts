// Every native engine handle (gen, rx, sessions, relay) follows one lifetime rule: dropped without
// stop(), it is stopped and its threads joined when garbage-collected; a pending wait() keeps it
// alive. A child `node --expose-gc` in a network namespace of its own (so its frames, connections
// and taps vanish with it) counts its threads in /proc/self/task before, while and after.
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {expect, it} from 'vitest'
import {describeNet} from '../helpers/privileges.js'

const SCRIPT = fileURLToPath(new URL('../helpers/native-handles-gc.mjs', import.meta.url))
const ADDON = fileURLToPath(new URL('../../build/Release/mqbench.node', import.meta.url))

interface Case {
  name: string
  before: number
  running: number
  after: number
  ranMs?: number
}

describeNet('native handles', () => {
  it('stops and joins every engine whose handle is dropped, and keeps one whose wait() is pending', () => {
    const r = spawnSync(
      'unshare',
      [
        '-n',
        'sh',
        '-c',
        'ip link set lo up && exec "$0" --expose-gc "$1" "$2"',
        process.execPath,
        SCRIPT,
        ADDON,
      ],
      {encoding: 'utf8', timeout: 50_000},
    )
    expect(r.status, r.stderr).toBe(0)
    const cases: Case[] = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(cases.map((c) => c.name)).toEqual(['gen', 'rx', 'sessions', 'relay', 'gen-waiting'])
    for (const c of cases) {
      expect(c.running, `${c.name}: its threads run`).toBeGreaterThan(c.before)
      expect(c.after, `${c.name}: its threads are gone after gc`).toBe(c.before)
    }
    // Not stopped early by a finalizer: it ran the full 400 ms it was given.
    expect(cases[4].ranMs).toBeGreaterThanOrEqual(390)
  })
})
