// vCPU pinning read back: Cpus_allowed_list from /proc status text, the vCPU threads of a process
// by the thread ids QMP names (here this test's own threads), and the migration case's judge of a
// destination's placement against the source's and the --vcpu-cpus map.
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import {judgePinning} from '../../src/check/vm/cases/migration.js'
import {parseCpuList} from '../../src/host/cpus.js'
import {
  describePlacement,
  parseCpusAllowed,
  placementMismatch,
  readVcpuPlacement,
  vcpuCpu,
  type VcpuPlacement,
} from '../../src/vm/vcpu-pinning.js'

const STATUS = `Name:\tqemu-system-x86
Cpus_allowed:\t3
Cpus_allowed_list:\t0-1,4
Mems_allowed_list:\t0
`

const at = (cpus: number[][], tid0 = 100): VcpuPlacement[] =>
  cpus.map((c, vcpu) => ({vcpu, threadId: tid0 + vcpu, cpus: c}))

/** A QMP that answers query-cpus-fast with these thread ids, in the order given. */
const qmpOf = (threads: Array<[number, number]>) => ({
  execute: async <T>(cmd: string): Promise<T> => {
    expect(cmd).toBe('query-cpus-fast')
    return threads.map(([i, tid]) => ({'cpu-index': i, 'thread-id': tid})) as T
  },
})

describe('parseCpusAllowed', () => {
  it('reads the list, not the mask or the memory list', () => {
    expect(parseCpusAllowed(STATUS)).toEqual([0, 1, 4])
    expect(parseCpusAllowed('Name:\tx\nCpus_allowed:\t1\n')).toBeUndefined()
  })
})

describe('vcpuCpu', () => {
  it('places vCPU i on the (i mod n)-th CPU of the map', () => {
    expect([0, 1, 2, 3].map((i) => vcpuCpu([1, 0], i))).toEqual([1, 0, 1, 0])
    expect([0, 1, 2].map((i) => vcpuCpu([3], i))).toEqual([3, 3, 3])
  })
})

describe('readVcpuPlacement', () => {
  it("reads each thread's affinity under /proc/PID/task, sorted by vCPU", async () => {
    const own = parseCpuList(
      /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1],
    )
    const p = await readVcpuPlacement(qmpOf([[1, process.pid]]), process.pid)
    expect(p).toEqual([{vcpu: 1, threadId: process.pid, cpus: own}])
  })

  it('refuses a thread id that is not a task of the process, naming the vCPU', async () => {
    // pid 1's main thread is not one of this process's tasks
    await expect(readVcpuPlacement(qmpOf([[0, 1]]), process.pid)).rejects.toThrow(
      `cannot read the CPU affinity of vCPU 0 (thread 1) of qemu pid ${process.pid}`,
    )
  })
})

describe('placementMismatch', () => {
  it('compares CPU sets by vCPU, whatever the thread ids', () => {
    expect(placementMismatch(at([[1], [0]]), at([[1], [0]], 900))).toBeUndefined()
    expect(
      placementMismatch(
        at([[1], [0]]),
        at([
          [0, 1],
          [0, 1],
        ]),
      ),
    ).toBe('vCPU 0 on 0-1, not 1; vCPU 1 on 0-1, not 0')
    expect(placementMismatch(at([[1], [0]]), at([[1]]))).toBe('vCPU 1 is missing')
    expect(placementMismatch(at([[1]]), at([[1], [0]]))).toBe('vCPU 1 is not in the source')
  })
})

describe('judgePinning (migration case, dest-pinned)', () => {
  const src = at([[1], [0]], 10)
  it('PASSes when the destination is placed as the source, which is placed as booted', () => {
    const c = judgePinning([1, 0], src, {pid: 42, placement: at([[1], [0]], 50)})
    expect(c.status).toBe('PASS')
    expect(c.evidence).toBe(
      'source: vCPU 0 (tid 10) on 1, vCPU 1 (tid 11) on 0; destination pid 42: vCPU 0 (tid 50) on 1, vCPU 1 (tid 51) on 0',
    )
  })

  it('FAILs an unpinned destination, saying where each vCPU may run', () => {
    const c = judgePinning([1, 0], src, {
      pid: 42,
      placement: at(
        [
          [0, 1],
          [0, 1],
        ],
        50,
      ),
    })
    expect(c.status).toBe('FAIL')
    expect(c.evidence).toMatch(/\(vCPU 0 on 0-1, not 1; vCPU 1 on 0-1, not 0\)$/)
  })

  it('FAILs two qemus that agree but are not on the --vcpu-cpus map (both unpinned)', () => {
    const loose = at([
      [0, 1],
      [0, 1],
    ])
    const c = judgePinning([1, 0], loose, {pid: 42, placement: loose})
    expect(c.status).toBe('FAIL')
    expect(c.evidence).toMatch(/the source is not on its --vcpu-cpus 1,0$/)
  })

  it('is N/A for a guest booted unpinned', () => {
    const c = judgePinning(undefined, undefined, undefined)
    expect(c).toMatchObject({id: 'dest-pinned', status: 'N/A'})
    expect(c.evidence).toMatch(/--vcpu-cpus/)
  })

  it('describes a placement in one line', () => {
    expect(describePlacement(at([[0, 1, 2, 5]]))).toBe('vCPU 0 (tid 100) on 0-2,5')
  })
})
