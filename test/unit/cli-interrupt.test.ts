// Ctrl-C while a command is still making things (a guest booting in `testbed up --kind vm`) undoes
// them, as before, and now says so in one line instead of exiting silently (issue 22).
import {spawn} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {interruptedLine} from '../../src/cli/cleanup.js'

const root = new URL('../..', import.meta.url).pathname

describe('interruptedLine', () => {
  it('names what was undone, newest first, and any failure', () => {
    expect(interruptedLine('SIGINT', ['qemu guest g1', 'namespace mqb-g1-h'], [])).toBe(
      'interrupted by SIGINT; removed what was made so far (qemu guest g1, namespace mqb-g1-h)',
    )
    expect(interruptedLine('SIGTERM', [], ['could not undo x: busy'])).toBe(
      'interrupted by SIGTERM; nothing was made yet; could not undo x: busy',
    )
  })
})

describe('a signal with nobody listening', () => {
  it('undoes, prints one line and exits 130', async () => {
    const script = `
      import {cleanup, installCleanupHandlers} from '${root}src/cli/cleanup.ts'
      installCleanupHandlers()
      cleanup.add('namespace mqb-t-h', () => process.stdout.write('undo ns\\n'))
      cleanup.add('qemu guest t', () => process.stdout.write('undo qemu\\n'))
      process.stdout.write('ready\\n')
      setInterval(() => {}, 1000)
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
    })
    let out = ''
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d))
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d
        if (out.includes('ready')) resolve()
      }),
    )
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    expect(code).toBe(130)
    expect(out).toMatch(/undo qemu\nundo ns/)
    expect(err.trim()).toBe(
      'mqbench: interrupted by SIGINT; removed what was made so far (qemu guest t, namespace mqb-t-h)',
    )
  }, 30_000)
})
