import {describe, expect, it} from 'vitest'
import {guestMac, qemuArgs, vectorsFor, type GuestConfig} from '../../src/vm/qemu-args.js'
import {shellQuote} from '../../src/util/shell.js'

const base: GuestConfig = {
  name: 'g1',
  kernel: '/boot/vmlinuz-6.1.0-57-cloud-amd64',
  initrd: '/var/cache/mqbench/initramfs/x.cpio',
  append: ['mqb.ip=198.18.7.2/24'],
  accel: 'tcg',
  vcpus: 4,
  memoryMiB: 512,
  queues: 4,
  tap: 'mqb-g1-t',
  mac: '52:54:00:01:02:03',
  vhost: false,
  dir: '/run/mqbench/testbeds/g1.vm',
}

const after = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag)

describe('qemu arguments', () => {
  it('gives the NIC queues=N on the tap and mq=on,vectors=2N+2', () => {
    const a = qemuArgs(base)
    expect(after(a, '-netdev')).toEqual([
      'tap,id=net0,ifname=mqb-g1-t,script=no,downscript=no,queues=4,vhost=off',
    ])
    expect(after(a, '-device')).toContain(
      'virtio-net-pci,netdev=net0,mac=52:54:00:01:02:03,id=nic0,mq=on,vectors=10',
    )
    expect(vectorsFor(4)).toBe(10)
  })

  it('turns on the variant features (packed rings, RSS, hash reports) on every NIC', () => {
    const a = qemuArgs({
      ...base,
      nicFeatures: ['packed', 'rss'],
      extraNics: [{tap: 'mqb-g1-t1', mac: '52:54:00:01:02:04'}],
    })
    const nics = after(a, '-device').filter((d) => d.startsWith('virtio-net-pci'))
    expect(nics).toHaveLength(2)
    for (const d of nics) expect(d).toMatch(/,mq=on,vectors=10,packed=on,rss=on$/)
    expect(after(qemuArgs(base), '-device').join(' ')).not.toMatch(/packed|rss|hash/)
  })

  it('gives extra NICs the same queue model, each on its own tap (netK, nicK)', () => {
    const a = qemuArgs({
      ...base,
      extraNics: [
        {tap: 'mqb-g1-t1', mac: '52:54:00:01:02:04'},
        {tap: 'mqb-g1-t2', mac: '52:54:00:01:02:05'},
      ],
    })
    expect(after(a, '-netdev')).toEqual([
      'tap,id=net0,ifname=mqb-g1-t,script=no,downscript=no,queues=4,vhost=off',
      'tap,id=net1,ifname=mqb-g1-t1,script=no,downscript=no,queues=4,vhost=off',
      'tap,id=net2,ifname=mqb-g1-t2,script=no,downscript=no,queues=4,vhost=off',
    ])
    expect(after(a, '-device').filter((d) => d.startsWith('virtio-net-pci'))).toEqual([
      'virtio-net-pci,netdev=net0,mac=52:54:00:01:02:03,id=nic0,mq=on,vectors=10',
      'virtio-net-pci,netdev=net1,mac=52:54:00:01:02:04,id=nic1,mq=on,vectors=10',
      'virtio-net-pci,netdev=net2,mac=52:54:00:01:02:05,id=nic2,mq=on,vectors=10',
    ])
    // none given: the command line of a one-NIC guest, unchanged
    expect(qemuArgs({...base, extraNics: []})).toEqual(qemuArgs(base))
  })
  it('leaves mq and vectors out for one queue pair', () => {
    const nic = after(qemuArgs({...base, queues: 1}), '-device').find((d) => d.startsWith('virtio-net-pci'))
    expect(nic).toBe('virtio-net-pci,netdev=net0,mac=52:54:00:01:02:03,id=nic0')
  })

  it('runs TCG multi-threaded, or KVM with the host CPU', () => {
    expect(after(qemuArgs(base), '-accel')).toEqual(['tcg,thread=multi'])
    const kvm = qemuArgs({...base, accel: 'kvm', vhost: true})
    expect(after(kvm, '-accel')).toEqual(['kvm'])
    expect(after(kvm, '-cpu')).toEqual(['host'])
    expect(after(kvm, '-netdev')[0]).toMatch(/vhost=on$/)
  })

  it('puts QMP, the console (with a log file) and the agent port on sockets in the scratch directory', () => {
    const a = qemuArgs(base)
    expect(after(a, '-chardev')).toEqual([
      'socket,id=qmp,path=/run/mqbench/testbeds/g1.vm/qmp.sock,server=on,wait=off',
      'socket,id=con,path=/run/mqbench/testbeds/g1.vm/console.sock,server=on,wait=off,logfile=/run/mqbench/testbeds/g1.vm/console.log',
      'socket,id=agent,path=/run/mqbench/testbeds/g1.vm/agent.sock,server=on,wait=off',
    ])
    expect(after(a, '-device')).toContain('virtserialport,bus=vser0.0,chardev=agent,name=org.mqbench.agent')
    expect(after(a, '-serial')).toEqual(['chardev:con'])
  })

  it('keeps reboots working and makes panics visible', () => {
    const a = qemuArgs(base)
    expect(a).not.toContain('-no-reboot')
    expect(a).toContain('-nodefaults')
    expect(after(a, '-device')).toContain('pvpanic-pci')
    expect(after(a, '-action')).toEqual(['panic=pause'])
    expect(after(a, '-append')[0]).toBe('console=ttyS0 quiet ipv6.disable=1 panic=0 mqb.ip=198.18.7.2/24')
    expect(after(a, '-smp')).toEqual(['4'])
    expect(after(a, '-m')).toEqual(['512M'])
  })

  it('makes a stable locally administered MAC and a copy-paste command line', () => {
    expect(guestMac(7, 'g1')).toBe(guestMac(7, 'g1'))
    expect(guestMac(7, 'g1')).not.toBe(guestMac(7, 'g2'))
    expect(guestMac(7, 'g1')).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/)
    expect(shellQuote(['qemu', '-append', 'console=ttyS0 quiet', "it's"])).toBe(
      `qemu -append 'console=ttyS0 quiet' 'it'\\''s'`,
    )
  })
})
