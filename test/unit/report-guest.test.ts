// The report's run details for a vm testbed: the guest's setup as recorded (kernel, accel, vCPUs
// and their pinning, queue pairs, vectors, the agent's build, the whole qemu command line).
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import type {GuestRecord, ResultsFile} from '../../src/results/schema.js'
import {writeReport} from '../../src/report/index.js'

const dir = mkdtempSync(join(tmpdir(), 'mqb-report-guest-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const guest: GuestRecord = {
  qemuVersion: '7.2.15',
  commandLine: "qemu-system-x86_64 -name mqb-g1,debug-threads=on -device 'virtio-net-pci,mq=on,vectors=6'",
  kernel: {path: '/boot/vmlinuz-6.1.0-57-cloud-amd64', release: '6.1.0-57-cloud-amd64'},
  accel: 'tcg',
  accelReason: '/dev/kvm cannot run this guest',
  vhost: false,
  mac: '02:6d:71:00:00:02',
  vcpus: 2,
  vcpuCpus: [1, 0],
  memoryMiB: 512,
  queues: 2,
  vectors: 6,
  initramfs: {key: 'k', modules: ['virtio_net.ko'], sizeBytes: 4_600_000, cached: true},
  agent: {
    agent: 'mqbench-agent',
    version: '0.1.0',
    protocol: 1,
    kernel: '6.1.0',
    cpus: 2,
    build: 'a1b2c3d4e5f60718',
  },
  bootMs: 5234,
  bootMarks: {init: 1.5, agent: 2.1},
}

it('lists the guest setup beside the host and testbed, escaped, and nothing of it for other kinds', async () => {
  const r = JSON.parse(
    readFileSync(new URL('../fixtures/results/tap-rr.json', import.meta.url), 'utf8'),
  ) as ResultsFile
  const vm = structuredClone(r)
  vm.config.testbed = {kind: 'vm', name: 'g1', guest}
  await writeReport([vm], {out: join(dir, 'vm.html')})
  const html = readFileSync(join(dir, 'vm.html'), 'utf8')
  expect(html).toContain(
    '<dt>guest</dt><dd>6.1.0-57-cloud-amd64, tcg (timings functional only), vhost off, 2 vCPUs pinned to host CPUs 1,0, 512 MiB, 2 queue pairs, 6 vectors; up in 5.2 s</dd>',
  )
  expect(html).toContain(
    '<dt>guest agent</dt><dd>mqbench-agent 0.1.0, protocol 1, build a1b2c3d4e5f60718</dd>',
  )
  expect(html).toContain(
    '<dt>qemu 7.2.15</dt><dd>qemu-system-x86_64 -name mqb-g1,debug-threads=on -device &#39;virtio-net-pci,mq=on,vectors=6&#39;</dd>',
  )
  await writeReport([r], {out: join(dir, 'tap.html')})
  expect(readFileSync(join(dir, 'tap.html'), 'utf8')).not.toContain('<dt>guest')
})
