// mqbench gen --backend xdp over a 2-queue veth pair (copy mode: veth has no zero-copy AF_XDP):
// thread i's socket is bound to queue i and its frames arrive on the peer's receive queue i, the
// receiver and the kernel count exactly what was sent, the frames as received are the packet
// backend's frames byte for byte (apart from send time and the checksum that covers it), and
// nothing is left bound after an abort or Ctrl-C. Then each AF_XDP error this machine can produce.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, beforeEach, expect, it} from 'vitest'
import {ExitCode, MqbError} from '../../src/errors.js'
import {runGen, type GenOptions} from '../../src/gen/run.js'
import {commandExists, runOk} from '../../src/util/exec.js'
import {RUN_JS, startMqbench} from '../helpers/mqbench-cli.js'
import {createNetPair, leftovers, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

// ARP the kernel may send on the link during a run besides mqbench's frames.
const OTHER_TRAFFIC = 5

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as MqbError,
  )

/** The frames of a classic pcap file (dumpcap -P), in order. */
function pcapFrames(path: string): Buffer[] {
  const b = readFileSync(path)
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4)
  const out: Buffer[] = []
  for (let off = 24; off + 16 <= b.length;) {
    const len = b.readUInt32LE(off + 8)
    out.push(b.subarray(off + 16, off + 16 + len))
    off += 16 + len
  }
  return out
}

/** The frame with its send time and the UDP checksum over it zeroed: what two runs share. */
function timeless(f: Buffer): string {
  const c = Buffer.from(f)
  const udp = c.readUInt16BE(12) === 0x86dd ? 14 + 40 : 14 + 20
  c.fill(0, udp + 6, udp + 8)
  c.fill(0, udp + 8 + 10, udp + 8 + 18)
  return c.toString('hex')
}

describeNet('gen --backend xdp on a 2-queue veth pair', () => {
  let pair: NetPair
  beforeEach(() => {
    pair = createNetPair(2)
    for (const [ns, dev] of [
      [pair.nsA, pair.devA],
      [pair.nsB, pair.devB],
    ])
      runOk('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`])
    // Per-queue NAPI at the receiver, so that rx_queue_N_xdp_packets counts (docs/platform.md).
    runOk('ip', ['netns', 'exec', pair.nsA, 'ethtool', '-K', pair.devA, 'tso', 'off'])
    runOk('ip', ['netns', 'exec', pair.nsB, 'ethtool', '-K', pair.devB, 'gro', 'on'])
  })
  afterEach(() => {
    expect(xdpSockets(pair.nsA)).toBe(0)
    pair.close()
    expect(leftovers(pair.tag)).toEqual([])
  })

  const base = (): GenOptions => ({
    backend: 'xdp',
    xdpMode: 'copy',
    dev: pair.devA,
    netns: pair.nsA,
    queues: 2,
    frameSize: 60,
    flowsPerQueue: 4,
    dstMac: pair.macB,
    srcIp: pair.ipA,
    dstIp: pair.ipB,
    durationMs: 5000,
    rx: {dev: pair.devB, netns: pair.nsB},
  })

  /** Open AF_XDP sockets in the namespace: the XDP row of /proc/net/protocols (this kernel has no xsk_diag for `ss --xdp`). */
  function xdpSockets(ns: string): number {
    const rows = runOk('ip', ['netns', 'exec', ns, 'cat', '/proc/net/protocols']).split('\n')
    const xdp = rows.find((l) => l.startsWith('XDP '))
    expect(xdp).toBeDefined()
    return Number(xdp!.trim().split(/\s+/)[2])
  }

  it('sends a --count run on both queues; receiver and kernel count every frame on its queue', async () => {
    // CPUs swapped on purpose: an AF_XDP socket sends on the queue it is bound to, not the CPU's.
    const r = await runGen({...base(), cpus: [1, 0], count: 20_000, ratePps: 20_000})
    expect(r.backend).toBe('xdp')
    expect(r.xdpMode).toBe('copy')
    expect(r.packets).toBe(20_000)
    expect(r.queues.map((q) => [q.queue, q.cpu, q.packets])).toEqual([
      [0, 1, 10_000],
      [1, 0, 10_000],
    ])
    for (const q of r.queues) expect(q.bytes).toBe(q.packets * 60)
    expect(r.rx!.packets).toBe(20_000)
    expect([r.rx!.lost, r.rx!.duplicates, r.rx!.reordered]).toEqual([0, 0, 0])
    expect(r.rx!.queues.map((q) => q.packets)).toEqual([10_000, 10_000])
    expect(r.placement!.expectedTxQueue).toEqual([0, 1])
    expect(r.placement!.verified).toBe(true)
    const k = r.kernel!
    expect(k.tx.statistics.tx_packets - r.packets).toBeGreaterThanOrEqual(0)
    expect(k.tx.statistics.tx_packets - r.packets).toBeLessThanOrEqual(OTHER_TRAFFIC)
    for (const q of [0, 1]) {
      const kq = k.rx!.perQueue.find((p) => p.queue === q)!.counters.rx_xdp_packets
      expect(kq - r.queues[q].packets).toBeGreaterThanOrEqual(0)
      expect(kq - r.queues[q].packets).toBeLessThanOrEqual(OTHER_TRAFFIC)
    }
  })

  it('sends 9000-byte frames as multi-buffer descriptors (XDP_USE_SG), received whole', async () => {
    for (const [ns, dev] of [
      [pair.nsA, pair.devA],
      [pair.nsB, pair.devB],
    ])
      runOk('ip', ['-n', ns, 'link', 'set', dev, 'mtu', '9000'])
    const r = await runGen({...base(), frameSize: 9000, count: 2000, ratePps: 10_000})
    expect(r.packets).toBe(2000)
    expect(r.rx!.packets).toBe(2000)
    expect(r.rx!.lost).toBe(0)
    // veth's byte counters leave out the 14-byte Ethernet header (docs/gen.md)
    expect(r.kernel!.rx!.statistics.rx_bytes).toBeGreaterThanOrEqual(2000 * (9000 - 14))
  })

  it.skipIf(!commandExists('dumpcap') || !commandExists('tshark'))(
    'frames as received are the packet backend’s, with good IP and UDP checksums (tshark)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mqb-gen-xdp-'))
      try {
        for (const ipv6 of [false, true]) {
          const captured: Record<string, string[]> = {}
          for (const backend of ['packet', 'xdp'] as const) {
            const file = join(dir, `${backend}-${ipv6 ? 6 : 4}.pcap`)
            const count = 200
            const cap = startCapture(pair.nsB, pair.devB, file, count)
            await cap.ready
            const r = await runGen({
              ...base(),
              backend,
              xdpMode: backend === 'xdp' ? 'copy' : undefined,
              ipVersion: ipv6 ? 6 : 4,
              ...(ipv6 ? {srcIp: undefined, dstIp: undefined} : {}),
              frameSize: ipv6 ? 80 : 60,
              cpus: [0, 1],
              count,
              ratePps: 2000,
              rx: undefined,
            })
            expect(r.backend).toBe(backend)
            await cap.done
            const frames = pcapFrames(file)
            expect(frames).toHaveLength(count)
            captured[backend] = frames.map(timeless).sort()
            const rows = runOk('tshark', [
              '-r',
              file,
              '-o',
              'ip.check_checksum:TRUE',
              '-o',
              'udp.check_checksum:TRUE',
              '-T',
              'fields',
              '-e',
              'ip.checksum.status',
              '-e',
              'udp.checksum.status',
            ])
              .trimEnd()
              .split('\n')
            expect(rows).toHaveLength(count)
            // status 1 = good; IPv6 has no header checksum
            for (const row of rows) expect(row).toBe(ipv6 ? '\t1' : '1\t1')
          }
          expect(captured.xdp).toEqual(captured.packet)
        }
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    },
  )

  it('stops every thread when aborted, and leaves no socket bound to either queue', async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 700)
    const r = await runGen({...base(), ratePps: 20_000, durationMs: 20_000}, {signal: ac.signal})
    expect(r.interrupted).toBe(true)
    expect(r.durationMs).toBeLessThan(3000)
    for (const q of r.queues) expect(q.packets).toBeGreaterThan(0)
    expect(r.rx!.packets).toBe(r.packets)
    expect(xdpSockets(pair.nsA)).toBe(0)
    // Both queues are free again at once (a socket still bound would give EBUSY).
    const again = await runGen({...base(), count: 100, ratePps: 10_000})
    expect(again.packets).toBe(100)
  })

  it('Ctrl-C ends the CLI with exit 130, what was sent so far, and no socket left', async () => {
    const {child, done} = startMqbench([
      'gen',
      '--backend',
      'xdp',
      '--xdp-mode',
      'copy',
      '--netns',
      pair.nsA,
      '--dev',
      pair.devA,
      '--queues',
      '2',
      '--rate',
      '20kpps',
      '--duration',
      '20s',
      '--dst-mac',
      pair.macB,
    ])
    await sleep(2500)
    expect(xdpSockets(pair.nsA)).toBe(2) // while it runs: one socket per queue
    child.kill('SIGINT')
    const res = await done
    expect(res.status).toBe(ExitCode.interrupted)
    expect(res.stdout).toMatch(/^mqbench gen: xdp \(copy mode\) on .*\(interrupted\)$/m)
    expect(xdpSockets(pair.nsA)).toBe(0)
  })

  it('auto chooses xdp here and says so; --qdisc makes it packet', async () => {
    const auto = await runGen({...base(), backend: 'auto', xdpMode: undefined, count: 100, ratePps: 10_000})
    expect(auto.backend).toBe('xdp')
    expect(auto.backendChoice).toMatch(/^xdp \(copy mode\): /)
    const packet = await runGen({
      ...base(),
      backend: 'auto',
      xdpMode: undefined,
      qdiscBypass: false,
      count: 100,
      ratePps: 10_000,
    })
    expect(packet.backend).toBe('packet')
    expect(packet.backendChoice).toMatch(/--qdisc/)
  })

  it('errors: zero-copy asked on veth (8), a queue taken (12), a queue the device lacks (8)', async () => {
    const zc = await rejection(runGen({...base(), xdpMode: 'zerocopy', durationMs: 1000}))
    expect(zc).toBeInstanceOf(MqbError)
    expect(zc!.exitCode).toBe(ExitCode.unsupported)
    expect(zc!.message).toMatch(/no zero-copy AF_XDP; use --xdp-mode copy/)

    const first = runGen({...base(), ratePps: 1000, durationMs: 4000, rx: undefined})
    await sleep(1000)
    const busy = await rejection(runGen({...base(), durationMs: 1000, rx: undefined}))
    expect(busy).toBeInstanceOf(MqbError)
    expect(busy!.exitCode).toBe(ExitCode.busy)
    expect(busy!.message).toMatch(/^cannot bind an AF_XDP socket to queue 0 of .*another AF_XDP socket/)
    expect((await first).packets).toBeGreaterThan(0)

    const tooMany = await rejection(runGen({...base(), queues: 3, durationMs: 1000}))
    expect(tooMany!.exitCode).toBe(ExitCode.unsupported)
    expect(tooMany!.message).toMatch(/above the 2 TX queues/)
  })

  it.skipIf(!commandExists('capsh') || !commandExists('prlimit'))(
    'errors: no CAP_NET_RAW (4); RLIMIT_MEMLOCK below the UMEM without CAP_IPC_LOCK (4)',
    () => {
      const gen = `exec ${process.execPath} ${RUN_JS} gen --backend xdp --netns ${pair.nsA} --dev ${pair.devA} --duration 1s`
      const noRaw = spawnSync('capsh', ['--drop=cap_net_raw', '--', '-c', gen], {encoding: 'utf8'})
      expect(noRaw.status).toBe(ExitCode.privilege)
      expect(noRaw.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^mqbench: cannot open an AF_XDP socket: .*needs CAP_NET_RAW/),
      ])
      const memlock = spawnSync(
        'prlimit',
        ['--memlock=65536:65536', 'capsh', '--drop=cap_ipc_lock', '--', '-c', gen],
        {encoding: 'utf8'},
      )
      expect(memlock.status).toBe(ExitCode.privilege)
      expect(memlock.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^mqbench: cannot register a \d+ KiB AF_XDP UMEM .*RLIMIT_MEMLOCK/),
      ])
    },
  )
})

/** dumpcap in the namespace, stopping after `count` UDP frames (or 20 s); `ready` once it captures, `done` once written. */
function startCapture(ns: string, dev: string, file: string, count: number) {
  const args = ['-i', dev, '-f', 'udp', '-c', String(count), '-a', 'duration:20', '-P', '-w', file]
  const child = spawn('ip', ['netns', 'exec', ns, 'dumpcap', ...args], {stdio: ['ignore', 'ignore', 'pipe']})
  let err = ''
  const done = new Promise<void>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`dumpcap: ${err}`)))),
  )
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d
      if (err.includes('Capturing on')) resolve()
    })
    done.then(() => reject(new Error(`dumpcap ended before capturing: ${err}`)), reject)
  })
  return {ready, done}
}
