// Every file mqbench writes, on a filesystem that fills up during the write: a tmpfs mounted for
// the test with a few KiB left. Each writer must fail in one line with exit 3 ("no space left"),
// leave the earlier file as it was, and leave no temporary file; before the writes looped (one
// write(2), count unchecked) the short write was synced and renamed over the earlier file.
// `check vm` learns that --out is read-only before it boots anything.
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {runGen} from '../../src/gen/run.js'
import {createFileExclusive, writeFileAtomic} from '../../src/host/files.js'
import {registerGuestAddress} from '../../src/host/guests.js'
import {CleanupRegistry} from '../../src/host/cleanup.js'
import {ResultsJournal} from '../../src/results/journal.js'
import {validatePlanResults, writePlanResults} from '../../src/results/plan.js'
import {validateResults} from '../../src/results/load.js'
import {writeRecord} from '../../src/testbed/registry.js'
import {run, runOk} from '../../src/util/exec.js'
import {buildInitramfs} from '../../src/vm/initramfs.js'
import {chooseKernel} from '../../src/vm/kernel.js'
import {findAgent, findBusybox} from '../../src/vm/prereqs.js'
import {mqbench} from '../helpers/mqbench-cli.js'
import {createNetPair, leftovers, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

const FIXTURES = new URL('../fixtures/results/', import.meta.url).pathname
/** free bytes left for each write: a few pages, so the write starts and then runs out */
const LEFT = 8192

let root: string
let disk: string

/** Fills the tmpfs, then frees `left` bytes of the filler. */
function fill(left = LEFT): void {
  const filler = join(disk, '.filler')
  const fd = openSync(filler, 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  let size = 0
  try {
    for (;;) size += writeSync(fd, chunk)
  } catch (err) {
    if ((err as {code?: string}).code !== 'ENOSPC') throw err
  }
  ftruncateSync(fd, Math.max(0, size - left))
  closeSync(fd)
}

/** What a writer must leave: the earlier file as it was, and no temporary file beside it. */
function expectIntact(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, data] of Object.entries(files))
    expect(readFileSync(join(dir, name))).toEqual(Buffer.from(data))
  expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
}

function expectNoSpace(fn: () => unknown): MqbError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(MqbError)
  const err = caught as MqbError
  expect(err.message).toMatch(/^cannot write .*: no space left on the device$/)
  expect(err.exitCode).toBe(ExitCode.badInput)
  return err
}

describeNet('a full disk under every writer', () => {
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'mqb-fulldisk-'))
    disk = join(root, 'disk')
    mkdirSync(disk)
    runOk('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'mqb-fulldisk', disk])
  })
  afterEach(() => {
    for (const f of readdirSync(disk)) rmSync(join(disk, f), {recursive: true, force: true})
  })
  afterAll(() => {
    // lazily if a failed test left a file open: the mount goes once that file closes
    if (run('umount', [disk]).status !== 0) runOk('umount', ['-l', disk])
    rmSync(root, {recursive: true, force: true})
  })

  it('writeFileAtomic and createFileExclusive: one line, exit 3, the earlier file intact', () => {
    const path = join(disk, 'x.json')
    writeFileSync(path, 'earlier\n')
    fill()
    expectNoSpace(() => writeFileAtomic(path, 'x'.repeat(64 * 1024)))
    expectNoSpace(() => createFileExclusive(join(disk, 'y.json'), Buffer.alloc(64 * 1024, 7)))
    expectIntact(disk, {'x.json': 'earlier\n'})
    expect(readdirSync(disk).filter((f) => f !== '.filler')).toEqual(['x.json'])
  })

  it('a results journal (scale): a step that does not fit leaves the journal as it was', () => {
    const init = JSON.parse(readFileSync(join(FIXTURES, 'tap-rr.json'), 'utf8')) as Parameters<
      typeof ResultsJournal.create
    >[1] & {steps?: unknown[]}
    const steps = validateResults(init).steps
    delete init.steps
    const journal = ResultsJournal.create(join(disk, 'run.json'), init)
    const before = readFileSync(journal.path)
    try {
      fill()
      expectNoSpace(() => journal.appendStep(steps[0]))
      expect(readFileSync(journal.path)).toEqual(before)
    } finally {
      journal.close() // its lock file is open: the tmpfs could not be unmounted
    }
    // and a new journal on the full disk is refused the same way
    fill(0)
    expectNoSpace(() => ResultsJournal.create(join(disk, 'run2.json'), init))
  })

  it('a plan results file (check vm)', () => {
    const plan = validatePlanResults(JSON.parse(readFileSync(join(FIXTURES, 'plan-vm-tcg.json'), 'utf8')))
    fill()
    expectNoSpace(() => writePlanResults(disk, plan))
    expect(readdirSync(disk).filter((f) => f !== '.filler')).toEqual([])
  })

  it('a testbed record and a guest address record', () => {
    const prev = process.env.MQBENCH_STATE_DIR
    process.env.MQBENCH_STATE_DIR = disk
    try {
      const rec = {name: 'fd1', kind: 'veth', note: 'x'.repeat(32 * 1024)} as unknown as Parameters<
        typeof writeRecord
      >[0]
      writeFileSync(join(disk, 'fd1.json'), '{"earlier":true}')
      mkdirSync(join(disk, 'guests'))
      writeFileSync(join(disk, 'guests', 'g1.json'), '{"earlier":true}')
      fill(0)
      expectNoSpace(() => writeRecord(rec))
      expectNoSpace(() =>
        registerGuestAddress('g1', '198.18.0.2', {pid: 1, startTime: 1}, new CleanupRegistry()),
      )
      expectIntact(disk, {'fd1.json': '{"earlier":true}'})
      expectIntact(join(disk, 'guests'), {'g1.json': '{"earlier":true}'})
    } finally {
      if (prev === undefined) delete process.env.MQBENCH_STATE_DIR
      else process.env.MQBENCH_STATE_DIR = prev
    }
  })

  it('the guest initramfs cache: no cut-off image is left to be booted next time', () => {
    const kernel = chooseKernel()
    fill()
    expectNoSpace(() => buildInitramfs({kernel, busybox: findBusybox(), agent: findAgent(), cacheDir: disk}))
    expect(readdirSync(join(disk, 'initramfs'))).toEqual([])
  })

  it('report, --csv and --png: one line, exit 3, the earlier page intact', async () => {
    const out = join(disk, 'report.html')
    writeFileSync(out, 'earlier page')
    fill()
    const r = await mqbench(['report', join(FIXTURES, 'tap-rr.json'), '--out', out])
    expect(r.status).toBe(ExitCode.badInput)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/cannot write .*report\.html: no space left on the device/)
    expectIntact(disk, {'report.html': 'earlier page'})

    const elsewhere = join(root, 'report.html')
    const csv = join(disk, 'steps.csv')
    writeFileSync(join(disk, '.filler'), '') // room for the earlier CSV
    writeFileSync(csv, 'earlier csv')
    fill(0)
    const c = await mqbench(['report', join(FIXTURES, 'tap-rr.json'), '--out', elsewhere, '--csv', csv])
    expect([c.status, c.stderr.trim().split('\n').length]).toEqual([ExitCode.badInput, 1])
    expect(c.stderr).toMatch(/cannot write .*steps\.csv: no space left on the device/)
    expectIntact(disk, {'steps.csv': 'earlier csv'})

    const png = join(disk, 'png')
    writeFileSync(join(disk, '.filler'), '')
    mkdirSync(png)
    fill()
    const p = await mqbench(['report', join(FIXTURES, 'tap-rr.json'), '--out', elsewhere, '--png', png])
    expect([p.status, p.stderr.trim().split('\n').length]).toEqual([ExitCode.badInput, 1])
    expect(p.stderr).toMatch(/cannot write .*\.png: no space left on the device/)
    expect(readdirSync(png).filter((f) => f.endsWith('.tmp'))).toEqual([])
  }, 60_000)

  it('check vm with a read-only --out: refused in one line before any guest boots', async () => {
    runOk('mount', ['-o', 'remount,ro', disk])
    try {
      const t = performance.now()
      const r = await mqbench(['check', 'vm', '--cases', 'boot', '--out', join(disk, 'results')])
      expect(r.status).toBe(ExitCode.badInput)
      expect(r.stderr.trim()).toBe(`mqbench: cannot write ${join(disk, 'results')}: read-only file system`)
      expect(r.stderr).not.toMatch(/booting/)
      expect(performance.now() - t).toBeLessThan(10_000)
    } finally {
      runOk('mount', ['-o', 'remount,rw', disk])
    }
  })

  describe('gen --pcap', () => {
    let pair: NetPair
    beforeAll(() => {
      pair = createNetPair(2)
    })
    afterAll(() => {
      pair.close()
      expect(leftovers(pair.tag)).toEqual([])
    })

    const gen = (pcap: string) =>
      runGen({
        backend: 'packet',
        dev: pair.devA,
        netns: pair.nsA,
        queues: 2,
        frameSize: 1500,
        flowsPerQueue: 4,
        dstMac: pair.macB,
        srcIp: pair.ipA,
        dstIp: pair.ipB,
        count: 200,
        durationMs: 3000,
        pcap,
        pcapFramesPerQueue: 16,
      }).then(
        () => undefined,
        (e: unknown) => e,
      )

    /** gen with an earlier capture in place and `left` bytes free: refused as `message`, the capture intact */
    async function refused(left: number, message: (pcap: string) => string): Promise<void> {
      const pcap = join(disk, 'gen.pcap')
      writeFileSync(pcap, 'earlier capture')
      fill(left)
      const err = await gen(pcap)
      expect(err).toBeInstanceOf(MqbError)
      expect((err as MqbError).message).toBe(message(pcap))
      expect((err as MqbError).exitCode).toBe(ExitCode.badInput)
      expectIntact(disk, {'gen.pcap': 'earlier capture'})
    }

    it('a directory already full is refused before the run; the earlier capture stays', () =>
      refused(0, () => `cannot write ${disk}: no space left on the device`))

    // one page free: the probe fits, 32 frames of 1,500 bytes do not
    it('a capture that does not fit after the run: one line, exit 3, the earlier capture intact', () =>
      refused(4096, (pcap) => `cannot write ${pcap}: no space left on the device`))
  })
})
