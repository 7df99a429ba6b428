// Integration tests need CAP_NET_ADMIN (namespaces, veth, tap). Where it is missing they are
// skipped with a message saying why; CI runs as root, so there they always run.
import {spawnSync} from 'node:child_process'
import {describe} from 'vitest'

function probeNetAdmin(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  const name = `mqb-probe-${process.pid}`
  const add = spawnSync('ip', ['netns', 'add', name], {encoding: 'utf8'})
  if (add.status !== 0)
    return `cannot create a network namespace (${(add.stderr || add.error?.message || '').trim()})`
  spawnSync('ip', ['netns', 'del', name])
  return undefined
}

export const netAdminMissing = probeNetAdmin()

/** describe() for tests that need CAP_NET_ADMIN; skipped with the reason when it is missing. */
export const describeNet: typeof describe = ((name: string, fn: () => void) => {
  if (netAdminMissing) {
    if (process.env.CI)
      throw new Error(`CI must run the integration tests, but CAP_NET_ADMIN is missing: ${netAdminMissing}`)
    return describe.skip(`${name} (skipped: needs CAP_NET_ADMIN: ${netAdminMissing})`, fn)
  }
  return describe(name, fn)
}) as typeof describe
