// The prerequisites table (src/prereqs.ts) against a host's answers: a far host is a table of
// answers, so these tests are also how a remote host's refusals read. Each missing piece is named
// in the one line with the README's exit code for it.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {ExitCode, type MqbError} from '../../src/errors.js'
import {
  NEEDS,
  REQUIREMENTS,
  answerLocally,
  requirePrereqs,
  type Answer,
  type Host,
  type Probe,
} from '../../src/prereqs.js'

/** A host that answers every probe ok except those `missing` names (by probe kind and name). */
function fakeHost(missing: Record<string, Answer> = {}): Host {
  const key = (p: Probe) =>
    'name' in p ? p.name : 'cap' in p ? p.cap : 'path' in p ? (p.path ?? p.kind) : p.kind
  return {
    name: 'far1',
    answer: (probes) => Promise.resolve(probes.map((p) => missing[key(p)] ?? {ok: true, found: 'yes'})),
  }
}

const refusal = async (p: Promise<void>): Promise<MqbError> => {
  try {
    await p
  } catch (err) {
    return err as MqbError
  }
  throw new Error('not refused')
}

describe('requirePrereqs', () => {
  it('passes when every requirement is answered', async () => {
    await expect(requirePrereqs('testbed:vm', {host: fakeHost()})).resolves.toBeUndefined()
  })

  it('refuses a missing qemu in one line with exit 8, naming the host', async () => {
    const e = await refusal(
      requirePrereqs('testbed:vm', {
        host: fakeHost({'qemu-system-x86_64': {ok: false, why: 'qemu-system-x86_64 not found on PATH'}}),
      }),
    )
    expect([e.exitCode, e.message]).toEqual([
      ExitCode.unsupported,
      'far1: qemu-system-x86_64 not found on PATH: apt-get install qemu-system-x86',
    ])
  })

  it('names every missing piece on the one line, with the first one exit code', async () => {
    const e = await refusal(
      requirePrereqs('testbed:vm', {
        host: fakeHost({
          CAP_NET_ADMIN: {ok: false},
          CAP_SYS_ADMIN: {ok: false},
          busybox: {ok: false, why: 'busybox not found'},
          staticBusybox: {ok: false, why: 'busybox not found'},
        }),
      }),
    )
    expect(e.exitCode).toBe(ExitCode.privilege)
    expect(e.message).not.toContain('\n')
    expect(e.message).toMatch(
      /^far1: mqbench needs CAP_NET_ADMIN and CAP_SYS_ADMIN: run as root, or grant it: sudo setcap /,
    )
    expect(e.message).toContain('; busybox not found: apt-get install busybox-static')
  })

  it('passes an explicit --kernel to the guest kernel probe', async () => {
    const seen: Probe[] = []
    const host: Host = {
      name: 'h',
      answer: (ps) => (seen.push(...ps), Promise.resolve(ps.map(() => ({ok: true})))),
    }
    await requirePrereqs('testbed:vm', {host, kernel: '/boot/vmlinuz-x'})
    expect(seen).toContainEqual({kind: 'guestKernel', path: '/boot/vmlinuz-x'})
  })

  it('every exit code in the table is in README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const table = readme.slice(readme.indexOf('## Exit codes'))
    for (const id of new Set(Object.values(NEEDS).flat()))
      expect(table, id).toMatch(new RegExp(`^\\| ${REQUIREMENTS[id].exit} \\|`, 'm'))
  })
})

describe('this host answers', () => {
  it('a command absent from PATH as missing, one present as found', () => {
    expect(answerLocally({kind: 'command', name: 'mqb-no-such-tool'})).toEqual({
      ok: false,
      why: 'mqb-no-such-tool not found on PATH',
    })
    expect(answerLocally({kind: 'command', name: 'sh'}).ok).toBe(true)
    expect(answerLocally({kind: 'device', path: '/dev/mqb-none'})).toMatchObject({
      ok: false,
      why: '/dev/mqb-none: absent (ENOENT)',
    })
  })
})
