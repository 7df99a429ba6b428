// The cleanup registry must remove what a run created when the process is told to stop
// (SIGTERM, Ctrl-C twice) or dies of an uncaught error, without any help from the test.
import {spawn} from 'node:child_process'
import {afterEach, expect, it} from 'vitest'
import {netnsExists} from '../../src/host/netns.js'
import {run} from '../../src/util/exec.js'
import {describeNet} from '../helpers/privileges.js'
import {uniqueTag} from '../helpers/netpair.js'

const made: string[] = []
afterEach(() => {
  for (const ns of made.splice(0)) if (netnsExists(ns)) run('ip', ['netns', 'del', ns])
})

/** Starts a child that creates a namespace, installs the handlers, then does what `then` says. */
function child(ns: string, then: 'wait' | 'throw') {
  const script = `
    import {createNetns} from './src/host/netns.ts'
    import {cleanup, installCleanupHandlers} from './src/cli/cleanup.ts'
    installCleanupHandlers()
    createNetns(${JSON.stringify(ns)}, cleanup)
    console.log('ready')
    ${then === 'throw' ? "setTimeout(() => { throw new Error('worker crashed') }, 50)" : 'setInterval(() => {}, 1000)'}
  `
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

function waitReady(p: ReturnType<typeof child>): Promise<void> {
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
    p.on('exit', (code) => reject(new Error(`child exited early with ${code}`)))
  })
}

function exitOf(p: ReturnType<typeof child>): Promise<number | null> {
  return new Promise((resolve) => p.on('exit', (code) => resolve(code)))
}

describeNet('cleanup on signals and crashes', () => {
  it('removes the namespace on SIGTERM and exits 130', async () => {
    const ns = `mqb-t${uniqueTag()}-sig`
    made.push(ns)
    const p = child(ns, 'wait')
    await waitReady(p)
    expect(netnsExists(ns)).toBe(true)
    const exited = exitOf(p)
    p.kill('SIGTERM')
    expect(await exited).toBe(130)
    expect(netnsExists(ns)).toBe(false)
  })

  it('removes the namespace on an uncaught error and exits 1', async () => {
    const ns = `mqb-t${uniqueTag()}-crash`
    made.push(ns)
    const p = child(ns, 'throw')
    const exited = exitOf(p)
    await waitReady(p)
    expect(await exited).toBe(1)
    expect(netnsExists(ns)).toBe(false)
  })
})
