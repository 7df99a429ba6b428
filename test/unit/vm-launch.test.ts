// The first phase of a guest's lifecycle, without qemu: what describeLaunch makes of the options
// and of what the host offers (vm/launch.ts).
import {describe, expect, it} from 'vitest'
import {bootBoundMs, describeLaunch, type GuestOptions, type LaunchInputs} from '../../src/vm/launch.js'

const opts: GuestOptions = {
  name: 'g1',
  netns: 'mqb-g1-h',
  tap: 'mqb-g1-t',
  mac: '52:54:00:01:02:03',
  guestCidr: '198.18.0.2/30',
  queues: 4,
  memoryMiB: 512,
  accel: 'auto',
  dir: '/run/mqbench/g1.vm',
}

const inputs = (accel: 'kvm' | 'tcg', over: Partial<LaunchInputs> = {}): LaunchInputs => ({
  qemu: '/usr/bin/qemu-system-x86_64',
  kernel: {path: '/boot/vmlinuz-6.1', release: '6.1', moduleDir: '/lib/modules/6.1'},
  image: {path: '/var/cache/mqbench/i.cpio', key: 'k', cached: true, modules: [], sizeBytes: 1},
  accel: {accel, reason: accel === 'kvm' ? 'kvm probe booted' : 'no /dev/kvm'},
  hostCpus: 2,
  vhostNet: true,
  ...over,
})

describe('describeLaunch', () => {
  it('under TCG: vCPUs bounded by the host with a note, no vhost, the TCG boot bound', () => {
    const l = describeLaunch(opts, inputs('tcg'))
    expect(l.vcpus.vcpus).toBe(2)
    expect(l.vcpus.note).toMatch(/^TCG: 2 vCPUs/)
    expect(l.vhost).toBe(false)
    expect(l.bootMs).toBe(bootBoundMs('tcg'))
    expect(l.cfg).toMatchObject({queues: 4, vcpus: 2, accel: 'tcg', initrd: '/var/cache/mqbench/i.cpio'})
    expect(l.cfg.append.slice(0, 2)).toEqual(['mqb.ip=198.18.0.2/30', 'mqb.hostname=mqb-g1'])
    expect(l.args).toContain('/boot/vmlinuz-6.1')
    expect(l.commandLine.startsWith('/usr/bin/qemu-system-x86_64 ')).toBe(true)
  })

  it('under KVM: vCPUs = queues, vhost only when /dev/vhost-net exists, a given boot bound kept', () => {
    expect(describeLaunch(opts, inputs('kvm')).vcpus).toEqual({vcpus: 4})
    expect(describeLaunch(opts, inputs('kvm')).vhost).toBe(true)
    expect(describeLaunch(opts, inputs('kvm', {vhostNet: false})).vhost).toBe(false)
    expect(describeLaunch({...opts, bootTimeoutMs: 1234}, inputs('kvm')).bootMs).toBe(1234)
  })

  it('refuses a vCPU count TCG cannot boot, before anything is launched', () => {
    expect(() => describeLaunch({...opts, vcpus: 64}, inputs('tcg'))).toThrow(/--vcpus 64 is more than 8/)
  })
})
