// A sweep whose testbed cannot be made measured nothing: it fails with the device error and
// leaves no results file (a sweep that measured something keeps it; see scale-resume).
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {CleanupRegistry} from '../../src/host/cleanup.js'
import {runScale} from '../../src/scale/run.js'

describe('runScale when the testbed cannot be created', () => {
  it('throws the one-line device error and writes no results file', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'mqb-scale-'))
    const err = await runScale({
      flags: {
        queues: [1, 2],
        testbed: {kind: 'dev', dev: 'mqbnosuch0'},
        workload: 'rr',
        sessions: 2,
        durationMs: 1000,
        warmupMs: 0,
        iterations: 1,
        server: '127.0.0.1:1',
      },
      outDir,
      argv: ['scale'],
      progress: false,
      cleanup: new CleanupRegistry(),
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MqbError)
    expect((err as MqbError).exitCode).toBe(ExitCode.noDevice)
    expect((err as MqbError).message).toMatch(/mqbnosuch0/)
    expect(readdirSync(outDir)).toEqual([])
    rmSync(outDir, {recursive: true, force: true})
  })
})
