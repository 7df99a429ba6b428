// The server a command starts for its own clients runs in a child process (scale, testbed up):
// it serves, reports its errors as the in-process server did, and never outlives its parent,
// however the parent ends.
import {spawn} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {runRr} from '../../src/sessions/index.js'
import {startServerProcess} from '../../src/sessions/server-process.js'
import {serverChildren} from '../helpers/server-children.js'

const ROOT = join(import.meta.dirname, '../..')

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (cond()) return true
  return cond()
}

describe('the server in a child process', () => {
  it('serves a test, and close() ends the process', async () => {
    const s = await startServerProcess({bind: '127.0.0.1', port: 0, maxSessions: 8})
    try {
      expect(serverChildren(process.pid)).toHaveLength(1)
      const r = await runRr({
        server: '127.0.0.1',
        port: s.port,
        type: 'tcp_rr',
        sessions: 4,
        requestSize: 1,
        responseSize: 1,
        durationMs: 300,
      })
      expect(r.sessions).toHaveLength(4)
      expect(r.sessions.every((x) => x.transactions > 0)).toBe(true)
    } finally {
      await s.close()
    }
    expect(serverChildren(process.pid)).toEqual([])
  })

  it("reports the server's own refusal with its exit code, and an errno as the in-process server would", async () => {
    const refused = await startServerProcess({bind: '198.18.0.1', port: 0}).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(MqbError)
    expect((refused as MqbError).exitCode).toBe(ExitCode.badInput)
    expect((refused as MqbError).message).toMatch(/token/)
    const unbound = await startServerProcess({bind: '198.18.0.1', port: 0, token: 't'}).catch(
      (e: unknown) => e,
    )
    expect((unbound as {code?: string}).code).toBe('EADDRNOTAVAIL')
    expect(serverChildren(process.pid)).toEqual([])
  })

  it('ends when its parent is killed', async () => {
    // A parent that starts a server process and waits; SIGKILL gives it no chance to close it.
    const script = `import(${JSON.stringify(join(ROOT, 'dist/sessions/server-process.js'))}).then(async (m) => {
      const s = await m.startServerProcess({bind: '127.0.0.1', port: 0})
      console.log('listening ' + s.port)
      setInterval(() => {}, 1000)
    })`
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    await new Promise<void>((resolve) =>
      parent.stdout.on('data', (d: Buffer) => /listening/.test(d.toString()) && resolve()),
    )
    const children = serverChildren(parent.pid!)
    expect(children).toHaveLength(1)
    parent.kill('SIGKILL')
    expect(
      await until(
        () => !serverChildren(parent.pid!).length && !readdirSync('/proc').includes(String(children[0])),
        10_000,
      ),
    ).toBe(true)
  })
})
