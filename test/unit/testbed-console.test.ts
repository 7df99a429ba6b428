// `testbed console` (issue 22 point 10) against a stand-in for qemu's console socket: it detaches
// when its input ends, never shows the guest's cursor-position queries (ESC [ 6 n), and refuses
// to type into a guest a running check owns (exit 12) while --read-only may watch it.
import {spawn} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {createServer, type Socket} from 'node:net'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ExitCode} from '../../src/errors.js'
import {processStartTime} from '../../src/host/process.js'
import {QueryFilter, withoutQueries} from '../../src/vm/console-filter.js'
import {RUN_JS} from '../helpers/mqbench-cli.js'
import {privateStateDir} from '../helpers/state-dir.js'

const state = privateStateDir('mqb-console-')

describe('QueryFilter', () => {
  it('drops ESC[6n and ESC[5n, also split over chunks, and keeps other escapes', () => {
    const f = new QueryFilter()
    const out = [
      f.push(Buffer.from('~ # \x1b')),
      f.push(Buffer.from('[')),
      f.push(Buffer.from('6nls\x1b[1;32mok\x1b[0m \x1b[5n')),
      f.push(Buffer.from('ü\x1b')),
      f.flush(),
    ]
    expect(Buffer.concat(out).toString()).toBe('~ # ls\x1b[1;32mok\x1b[0m ü\x1b')
    expect(withoutQueries('a\x1b[6nb\x1b[6n')).toBe('ab')
  })
})

/** A stand-in for qemu's `-chardev socket,server=on` console of testbed `name`. */
async function fakeConsole(name: string) {
  const dir = join(state, `${name}.vm`)
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'console.log'), 'Welcome\r\n~ # \x1b[6n')
  const received: Buffer[] = []
  const clients: Socket[] = []
  const server = createServer((c) => {
    clients.push(c)
    c.on('data', (d) => received.push(d))
    // busybox redraws its prompt with a query, here cut between two writes
    c.write('~ # \x1b[')
    setTimeout(() => c.write('6n'), 50)
  })
  await new Promise<void>((r) => server.listen(join(dir, 'console.sock'), r))
  afterAll(() => {
    for (const c of clients) c.destroy()
    server.close()
  })
  return {received: () => Buffer.concat(received).toString()}
}

function consoleCli(args: string[], input?: string) {
  const child = spawn(process.execPath, [RUN_JS, 'testbed', 'console', ...args], {
    env: {...process.env, MQBENCH_STATE_DIR: state},
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  if (input !== undefined) setTimeout(() => child.stdin.end(input), 300)
  return {
    child,
    done: new Promise<{status: number | null; stdout: string; stderr: string}>((resolve) =>
      child.on('close', (status) => resolve({status, stdout, stderr})),
    ),
  }
}

describe('testbed console', () => {
  it('sends its input, detaches when the input ends, and shows no terminal query', async () => {
    const fake = await fakeConsole('cons1')
    const r = await consoleCli(['cons1'], 'uname -r\n').done
    expect(r.status, r.stderr).toBe(0)
    expect(fake.received()).toContain('uname -r\n')
    expect(r.stdout).toContain('Welcome')
    expect(r.stdout).toContain('--- detached ---')
    expect(r.stdout).not.toContain('\x1b[6n')
  }, 30_000)

  it('refuses to type into a guest a running check owns (exit 12), and lets --read-only watch it', async () => {
    const fake = await fakeConsole('cons2')
    writeFileSync(
      join(state, 'cons2.json'),
      JSON.stringify({
        name: 'cons2',
        kind: 'vm',
        pid: process.pid,
        owner: {command: 'mqbench check', holder: false, startTime: processStartTime(process.pid)},
        createdAt: new Date().toISOString(),
        nsA: 'mqb-cons2-h',
        nsB: '',
        devA: 'mqb-cons2-b',
        devB: 'eth0',
        ipA: '198.18.0.1',
        ipB: '198.18.0.2',
        maxQueues: 2,
      }),
    )
    const refused = await consoleCli(['cons2'], 'reboot -f\n').done
    expect(refused.status).toBe(ExitCode.busy)
    expect(refused.stderr).toBe(
      `mqbench: testbed cons2 is in use by mqbench check (pid ${process.pid}): typing into its guest would change what that run measures; watch it with \`mqbench testbed console cons2 --read-only\`, or attach once the run is over\n`,
    )
    const watch = consoleCli(['cons2', '--read-only'], 'reboot -f\n')
    // SIGINT once it is attached (before, it would end the process before its handler exists)
    await new Promise<void>((resolve) =>
      watch.child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('--- attached')) setTimeout(resolve, 300)
      }),
    )
    watch.child.kill('SIGINT')
    const w = await watch.done
    expect(w.status, w.stderr).toBe(0)
    expect(w.stdout).toContain('(read-only; Ctrl-C detaches)')
    expect(fake.received()).toBe('')
  }, 30_000)
})
