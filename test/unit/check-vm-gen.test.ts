// The pure parts of the gen case: pktgen's script and /proc output, the optional modules the
// image carries for it, and the judges over gen results (every queue both ways, the loss).
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {fromGuestChecks, pktgenCheck, toGuestCheck} from '../../src/check/vm/cases/gen.js'
import type {GenResult} from '../../src/results/schema.js'
import {optionalModuleFiles} from '../../src/vm/initramfs.js'
import {parsePktgenOutput, pktgenScript} from '../../src/vm/pktgen.js'

const devFile = (k: number, sofar: number, pps: number) => `@@mqb-pktgen ${k}
Params: count 50000000  min_pkt_size: 60  max_pkt_size: 60
     queue_map_min: ${k}  queue_map_max: ${k}
Current:
     pkts-sofar: ${sofar}  errors: 0
     started: 9374194us  stopped: 11305452us idle: 1698us
Result: OK: 1931258(c1929559+d1698) usec, ${sofar} (60byte,0frags)
  ${pps}pps 13Mb/sec (13070880bps) errors: 0
`

describe('pktgen', () => {
  it('gives thread K the device DEV@K on TX queue K, bounded by count and time, and undoes itself', () => {
    const s = pktgenScript({
      dev: 'eth0',
      queues: 2,
      pktSize: 60,
      dstIp: '198.18.0.1',
      dstMac: '02:00:00:00:00:01',
      durationMs: 1500,
      countPerQueue: 1000,
    })
    expect(s).toContain('modprobe pktgen || exit 3')
    expect(s).toContain('echo "add_device eth0@1" > $P/kpktgend_1')
    expect(s).toContain('echo "queue_map_min 1" > $P/eth0@1')
    expect(s).toContain('echo "queue_map_max 1" > $P/eth0@1')
    expect(s).toContain('echo "count 1000" > $P/eth0@0')
    expect(s).toContain('sleep 1.500\necho stop > $P/pgctrl')
    expect(s).toMatch(/trap 'echo reset > \$P\/pgctrl 2>\/dev\/null; rmmod pktgen' EXIT/)
  })
  it('reads each device file: packets, errors, rate', () => {
    expect(parsePktgenOutput(`noise\n${devFile(0, 52591, 27231)}${devFile(1, 55320, 27254)}`)).toEqual([
      {queue: 0, packets: 52591, errors: 0, pps: 27231},
      {queue: 1, packets: 55320, errors: 0, pps: 27254},
    ])
    expect(parsePktgenOutput('@@mqb-pktgen 0\nno such device')).toEqual([])
  })
  it('judges every queue sent, N/A with the reason without pktgen', () => {
    const run = {ran: true as const, queues: [{queue: 0, packets: 10, errors: 0, pps: 5}]}
    expect(pktgenCheck(run, 1, [10], 9)).toMatchObject({
      status: 'PASS',
      evidence: expect.stringMatching(/received 9 of 10 \(lost 1\)/),
    })
    expect(pktgenCheck(run, 2, [10, 0], 10)).toMatchObject({
      status: 'FAIL',
      evidence: expect.stringMatching(/^queue 1 sent nothing/),
    })
    // frames counted by pktgen but not by the driver's queue counter: not proven on that queue
    expect(pktgenCheck(run, 1, [0], 10).status).toBe('FAIL')
    expect(
      pktgenCheck({ran: false, reason: 'modprobe pktgen failed in the guest: not found'}, 2, [], 0),
    ).toMatchObject({
      status: 'N/A',
      evidence: 'modprobe pktgen failed in the guest: not found',
    })
  })
})

describe('optional modules in the image', () => {
  it('carries pktgen with the dependencies boot does not load, and a modules.dep for modprobe', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqb-mods-'))
    mkdirSync(join(dir, 'kernel/net'), {recursive: true})
    writeFileSync(join(dir, 'kernel/net/pktgen.ko'), 'P')
    writeFileSync(join(dir, 'kernel/net/helper.ko'), 'H')
    writeFileSync(join(dir, 'kernel/net/virtio_net.ko'), 'V')
    writeFileSync(
      join(dir, 'modules.dep'),
      'kernel/net/pktgen.ko: kernel/net/helper.ko kernel/net/virtio_net.ko\nkernel/net/helper.ko:\nkernel/net/virtio_net.ko:\n',
    )
    const files = optionalModuleFiles({path: '', release: '6.1.0-x', moduleDir: dir}, ['virtio_net.ko'])
    expect(files.map((f) => f.path)).toEqual([
      '/lib/modules/6.1.0-x/extra/helper.ko',
      '/lib/modules/6.1.0-x/extra/pktgen.ko',
      '/lib/modules/6.1.0-x/modules.dep',
    ])
    expect(files[2].data.toString()).toBe('extra/helper.ko:\nextra/pktgen.ko: extra/helper.ko\n')
    expect(optionalModuleFiles({path: '', release: 'r', moduleDir: dir}, [], ['nosuch'])).toEqual([])
  })
})

const gen = (over: Partial<GenResult>): GenResult => ({
  workload: 'gen',
  backend: 'packet',
  dev: 'eth0 (guest)',
  frameSize: 64,
  flowsPerQueue: 16,
  durationMs: 2000,
  packets: 300,
  bytes: 19200,
  pps: 150,
  mbps: 0.1,
  queues: [],
  ...over,
})
const rxq = (queue: number, packets: number) => ({
  queue,
  packets,
  bytes: 0,
  lost: 0,
  reordered: 0,
  duplicates: 0,
})

describe('gen judges', () => {
  it('from the guest: every TX queue and every tap queue, placement verified, with the loss', () => {
    const r = gen({
      rx: {
        dev: 'tap',
        packets: 290,
        lost: 0,
        reordered: 0,
        duplicates: 0,
        queues: [rxq(0, 150), rxq(1, 140)],
      },
      placement: {expectedTxQueue: [0, 1], verified: true},
      guest: {
        direction: 'from-guest',
        dev: 'eth0',
        queues: [
          {queue: 0, rxPackets: 0, txPackets: 150, pps: 75},
          {queue: 1, rxPackets: 0, txPackets: 150, pps: 75},
        ],
      },
    })
    const [q, h] = fromGuestChecks(r, 2)
    expect(q).toMatchObject({status: 'PASS', evidence: 'tx0 +150 (75 pps), tx1 +150 (75 pps)'})
    expect(h.status).toBe('PASS')
    expect(h.evidence).toMatch(/^290 of 300 sent \(lost 10\), tap q0 150, tap q1 140; .*yes$/)
    const [q3, h3] = fromGuestChecks(r, 3)
    expect(q3).toMatchObject({status: 'FAIL', evidence: expect.stringMatching(/^no frames on TX queue 2; /)})
    expect(h3).toMatchObject({status: 'FAIL', evidence: expect.stringMatching(/^nothing on tap queue 2; /)})
    expect(fromGuestChecks({...r, placement: {expectedTxQueue: [0, 1], verified: false}}, 2)[1].status).toBe(
      'FAIL',
    )
  })
  it('into the guest: every RX queue received', () => {
    const r = gen({
      rx: {dev: 'eth0 (guest)', packets: 300, lost: 0, reordered: 0, duplicates: 0, queues: []},
      guest: {
        direction: 'to-guest',
        dev: 'eth0',
        queues: [
          {queue: 0, received: 300, rxPackets: 300, txPackets: 0, pps: 150},
          {queue: 1, received: 0, rxPackets: 0, txPackets: 0, pps: 0},
        ],
      },
    })
    expect(toGuestCheck(r, 1)).toMatchObject({
      status: 'PASS',
      evidence: 'rx0 300 (150 pps), rx1 0 (0 pps); 300 of 300 sent (lost 0)',
    })
    expect(toGuestCheck(r, 2)).toMatchObject({
      status: 'FAIL',
      evidence: expect.stringMatching(/^nothing on RX queue 1; /),
    })
  })
})
