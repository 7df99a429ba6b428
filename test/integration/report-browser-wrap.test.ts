// The scale report of a vm run in headless Chromium (issue 22): the qemu command line (one long
// line of comma-joined options) and the reproduce command wrap inside the page instead of running
// off it. No guest is booted: the guest record is the one a TCG run writes, its command line as
// long as a real one.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {writeReport} from '../../src/report/index.js'
import type {GuestRecord, ResultsFile} from '../../src/results/schema.js'
import {qemuArgs} from '../../src/vm/qemu-args.js'
import {shellQuote} from '../../src/util/shell.js'
import {chromiumForFile, openReport} from '../helpers/report-page.js'

const {dir, get: browser} = chromiumForFile('mqb-report-wrap-')

const vmDir = '/run/mqbench/testbeds/s4f2a.vm'
const commandLine = shellQuote([
  '/usr/bin/qemu-system-x86_64',
  ...qemuArgs({
    name: 's4f2a',
    kernel: '/boot/vmlinuz-6.1.0-57-cloud-amd64',
    initrd: '/var/cache/mqbench/initramfs-0123456789abcdef0123456789abcdef.cpio.gz',
    append: ['mqb.ip=198.18.77.2/24', 'mqb.hostname=mqb-s4f2a'],
    accel: 'tcg',
    vcpus: 2,
    memoryMiB: 512,
    queues: 2,
    tap: 'mqb-s4f2a-t',
    mac: '52:54:00:12:34:56',
    vhost: false,
    dir: vmDir,
  }),
])

describe('a vm run in the report', () => {
  it('wraps the qemu command line and the reproduce command within the page width', async () => {
    const r = JSON.parse(
      readFileSync(new URL('../fixtures/results/tap-rr.json', import.meta.url), 'utf8'),
    ) as ResultsFile
    const guest = {
      qemuVersion: '7.2.22',
      commandLine,
      kernel: {path: '/boot/vmlinuz-6.1.0-57-cloud-amd64', release: '6.1.0-57-cloud-amd64'},
      accel: 'tcg',
      accelReason: 'no /dev/kvm',
      vhost: false,
      mac: '52:54:00:12:34:56',
      vcpus: 2,
      memoryMiB: 512,
      queues: 2,
      vectors: 6,
      initramfs: {key: 'k', modules: [], sizeBytes: 1, cached: true},
      agent: {agent: 'mqbench-agent', version: '0.1.0', protocol: 1, kernel: '6.1.0', cpus: 2, build: 'b'},
      bootMs: 5000,
      bootMarks: {},
    } as GuestRecord
    r.config.testbed = {kind: 'vm', name: 's4f2a', guest}
    r.run.command = `mqbench scale --queues 1..2 --testbed vm --workload gen --duration 2s --out ${'/very/long/path/'.repeat(8)}`
    const out = join(dir, 'vm.html')
    await writeReport([r], {out})
    const {page, problems} = await openReport(browser(), out)
    expect(problems).toEqual([])
    const widths = await page.evaluate(() => ({
      page: document.documentElement.clientWidth,
      scroll: document.documentElement.scrollWidth,
      overflowing: [...document.querySelectorAll('.run-meta dd, .run-meta pre')]
        .filter((el) => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > innerWidth)
        .map((el) => el.textContent!.slice(0, 60)),
    }))
    expect(widths.overflowing).toEqual([])
    expect(widths.scroll).toBeLessThanOrEqual(widths.page)
    expect(await page.textContent('body')).toContain('-netdev tap,id=net0,ifname=mqb-s4f2a-t')
    await page.close()
  }, 60_000)
})
