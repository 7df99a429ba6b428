// A private testbed state directory (MQBENCH_STATE_DIR) for one test file, restored after it.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll} from 'vitest'

export function privateStateDir(prefix = 'mqb-state-'): string {
  const state = mkdtempSync(join(tmpdir(), prefix))
  const before = process.env.MQBENCH_STATE_DIR
  process.env.MQBENCH_STATE_DIR = state
  afterAll(() => {
    if (before === undefined) delete process.env.MQBENCH_STATE_DIR
    else process.env.MQBENCH_STATE_DIR = before
    rmSync(state, {recursive: true, force: true})
  })
  return state
}
