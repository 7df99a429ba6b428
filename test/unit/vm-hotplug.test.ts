// The pure parts of NIC hotplug: the QMP arguments, query-pci flattened, HMP `info network`
// parsed, and the unplug sequence against a qemu that answers or never sends DEVICE_DELETED.
import {describe, expect, it} from 'vitest'
import {flattenPci, parseInfoNetwork, plugArgs, unplugNic} from '../../src/vm/hotplug.js'
import type {QmpEvent} from '../../src/vm/qmp.js'
import {pingReceived} from '../../src/check/vm/cases/hotplug-repeat.js'

describe('plugArgs', () => {
  it('gives a multiqueue tap netdev and a virtio-net-pci with mq=on and 2N+2 vectors', () => {
    const a = plugArgs({
      netdevId: 'net1',
      deviceId: 'nic1',
      tap: 'mqb-x-p',
      queues: 4,
      mac: '52:54:00:00:00:01',
    })
    expect(a.netdev).toEqual({
      type: 'tap',
      id: 'net1',
      ifname: 'mqb-x-p',
      script: 'no',
      downscript: 'no',
      queues: 4,
      vhost: false,
    })
    expect(a.device).toEqual({
      driver: 'virtio-net-pci',
      id: 'nic1',
      netdev: 'net1',
      mac: '52:54:00:00:00:01',
      mq: 'on',
      vectors: 10,
    })
  })
  it('leaves mq and vectors to qemu for one queue pair', () => {
    const a = plugArgs({netdevId: 'n', deviceId: 'd', tap: 't', queues: 1, mac: 'm'})
    expect(a.device).not.toHaveProperty('mq')
    expect(a.device).not.toHaveProperty('vectors')
  })
})

describe('parsers', () => {
  it('flattens query-pci, bridges included', () => {
    const devs = flattenPci([
      {
        bus: 0,
        devices: [
          {bus: 0, slot: 0, class_info: {desc: 'Host bridge'}},
          {bus: 0, slot: 4, qdev_id: 'nic0', class_info: {desc: 'Ethernet controller'}},
          {bus: 0, slot: 5, qdev_id: 'br', pci_bridge: {devices: [{bus: 1, slot: 0, qdev_id: 'nic9'}]}},
        ],
      },
    ])
    expect(devs.map((d) => `${d.bus}:${d.slot}:${d.qdevId}`)).toEqual([
      '0:0:',
      '0:4:nic0',
      '0:5:br',
      '1:0:nic9',
    ])
  })
  it('reads the clients of info network, one backend line per tap queue', () => {
    const text =
      'nic1: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:29:b0:65\r\n' +
      ' \\ net1: index=0,type=tap,ifname=mqb-hx663-p,script=no,downscript=no\r\n' +
      'nic1: index=1,type=nic,\r\n' +
      ' \\ net1: index=1,type=tap,ifname=mqb-hx663-p,script=no,downscript=no\r\n'
    expect(parseInfoNetwork(text)).toEqual([
      {name: 'nic1', type: 'nic'},
      {name: 'net1', type: 'tap'},
      {name: 'nic1', type: 'nic'},
      {name: 'net1', type: 'tap'},
    ])
    expect(parseInfoNetwork('')).toEqual([])
  })
})

/** A qemu that records commands and sends DEVICE_DELETED after `deleteAfterMs` (never when undefined). */
function fakeQmp(deleteAfterMs?: number) {
  const commands: string[] = []
  const listeners = new Set<(e: QmpEvent) => void>()
  return {
    commands,
    async execute<T>(command: string, args?: Record<string, unknown>): Promise<T> {
      commands.push(`${command} ${JSON.stringify(args)}`)
      if (command === 'device_del' && deleteAfterMs !== undefined)
        setTimeout(() => {
          for (const l of listeners)
            l({event: 'DEVICE_DELETED', data: {path: '/machine/peripheral/nic0/virtio-backend'}})
          for (const l of listeners)
            l({event: 'DEVICE_DELETED', data: {device: 'nic0', path: '/machine/peripheral/nic0'}})
        }, deleteAfterMs)
      return undefined as T
    },
    waitEvent(name: string, timeoutMs: number, match: (e: QmpEvent) => boolean = () => true) {
      return new Promise<QmpEvent>((resolve, reject) => {
        const l = (e: QmpEvent) => {
          if (e.event === name && match(e)) resolve(e)
        }
        listeners.add(l)
        setTimeout(() => reject(new Error('timeout')), timeoutMs)
      })
    },
  }
}

describe('unplugNic', () => {
  it('waits for the device own DEVICE_DELETED, then deletes the netdev', async () => {
    const q = fakeQmp(30)
    const r = await unplugNic(q, {deviceId: 'nic0', netdevId: 'net0'}, 2000)
    expect(r.error).toBeUndefined()
    expect(r.deletedMs).toBeGreaterThanOrEqual(25)
    expect(q.commands).toEqual(['device_del {"id":"nic0"}', 'netdev_del {"id":"net0"}'])
  })
  it('FAILs at the bound when the device is never deleted, and leaves the netdev qemu still uses', async () => {
    const q = fakeQmp(undefined)
    const r = await unplugNic(q, {deviceId: 'nic0', netdevId: 'net0'}, 100)
    expect(r).toEqual({error: 'qemu sent no DEVICE_DELETED for nic0 within 0.1 s of device_del'})
    expect(q.commands).toEqual(['device_del {"id":"nic0"}'])
  })
})

describe('pingReceived', () => {
  it('reads busybox and iputils summaries', () => {
    expect(pingReceived('3 packets transmitted, 2 packets received, 33% packet loss')).toBe(2)
    expect(pingReceived('3 packets transmitted, 3 received, 0% packet loss, time 402ms')).toBe(3)
    expect(pingReceived('ping: sendto: Network unreachable')).toBe(0)
  })
})
