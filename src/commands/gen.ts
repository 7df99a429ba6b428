import {Flags} from '@oclif/core'
import {MqbCommand} from '../cli/base.js'
import {cleanup, onInterrupt} from '../cli/cleanup.js'
import {cpuListFlag, durationFlag, frameSizeFlag, netnsFlag} from '../cli/flags.js'
import {DEFAULT_FRAME_SIZE} from '../gen/frame.js'
import {ExitCode, MqbError, badInput} from '../errors.js'
import {genTestbed} from '../gen/testbed.js'
import {runFarRxGen} from '../gen/far-rx.js'
import {guestTableHeading, placementText, receiverTableHeading} from '../gen/render.js'
import {FLOWS_PER_GUEST_QUEUE, runVmGen} from '../gen/vm.js'
import {deviceFacts} from '../gen/kernel.js'
import type {GenKernel, GenProgress} from '../gen/run.js'
import {runGen} from '../gen/run.js'
import {formatPps, parseRate, rateToPps, type Rate} from '../gen/rate.js'
import type {GenGuest, GenResult} from '../results/schema.js'
import {LIMITS} from '../limits.js'
import {fmt} from '../util/format.js'
import {farCheck, requirePrereqs} from '../prereqs.js'

const rateFlag = Flags.custom<Rate>({
  parse: async (input) => parseRate(input),
  helpValue: '100kpps|1M|500Mbit|10Gbit',
})

export default class Gen extends MqbCommand {
  static summary = `Send pktgen-style UDP frames, one pinned sender thread per queue, and count them at a receiver.`

  static description = `Each sender thread has its own socket (or tap queue fd), its own flows and its own counters. Frames are Ethernet + IPv4/IPv6 + UDP with valid checksums and a payload header (queue, flow, sequence number, send time) from which --rx-dev counts loss and reordering per flow. --frame-size counts the frame without the 4-byte FCS, as the kernel's byte counters do; --rate in bit/s counts the same bytes.

On AF_PACKET with PACKET_QDISC_BYPASS (the default) the kernel sends a frame on TX queue (sending CPU mod TX queues), so thread i runs on the i-th CPU of --cpus and leaves on queue i; a receiver on a multiqueue device proves it by counting, per receive queue, which sender's frames arrived there (docs/gen.md). With --backend xdp thread i binds an AF_XDP socket to queue i itself.`

  static examples = [
    {
      description: 'Two queues of 64-byte frames (60 + FCS) for 10 s on a veth, counted at its peer',
      command: '<%= config.bin %> gen --dev veth0 --queues 2 --rx-dev veth1 --rx-netns ns1',
    },
    {
      description: '1 Mpps in total over 4 queues, 16 flows per queue, from CPUs 0-3',
      command:
        '<%= config.bin %> gen --dev eth1 --queues 4 --cpus 0-3 --flows 16 --rate 1Mpps --duration 30s --dst-mac 02:00:00:00:00:02',
    },
    {
      description: 'Write 1500-byte frames into a 2-queue tap (created if absent) at 500 Mbit/s',
      command:
        '<%= config.bin %> gen --backend tap --dev mqb-tap0 --queues 2 --frame-size 1500 --rate 500Mbit',
    },
    {
      description: 'AF_XDP, one socket per queue (copy mode on veth), as fast as it goes for 5 s',
      command: '<%= config.bin %> gen --backend xdp --dev veth0 --queues 2 --duration 5s',
    },
    {
      description:
        "A held testbed's A end, counted at its B end (the testbed supplies devices and addresses)",
      command: '<%= config.bin %> gen --testbed tb1 --rate 100kpps --duration 5s',
    },
    {
      description:
        "From a held vm testbed's guest queues to the host, counted per guest TX queue and host tap queue",
      command: '<%= config.bin %> gen --testbed g1 --from guest --duration 5s',
    },
    {
      description: 'Exactly 1,000,000 frames through the qdisc, as JSON',
      command: '<%= config.bin %> gen --dev veth0 --count 1000000 --qdisc --json',
    },
  ]

  static enableJsonFlag = true

  static flags = {
    backend: Flags.option({
      options: ['packet', 'xdp', 'auto', 'tap'] as const,
      default: 'auto' as const,
      description:
        'auto: xdp where the kernel and device take AF_XDP sockets and neither --qdisc nor --tx-ring is given, else packet (the output says which ran); packet: AF_PACKET raw socket on --dev; xdp: an AF_XDP socket bound to each queue; tap: write to the queue fds of a multiqueue tap (attached, or created if absent)',
    })(),
    'xdp-mode': Flags.option({
      options: ['auto', 'zerocopy', 'copy'] as const,
      default: 'auto' as const,
      description:
        'AF_XDP mode: zero-copy, copy, or auto (zero-copy where the driver has it, else copy); zerocopy or copy with --backend auto asks for AF_XDP and fails (exit 8) where it cannot be had',
    })(),
    dev: Flags.string({
      description: 'interface to send on (packet) or tap name (tap); or give --testbed',
      helpValue: 'IF',
    }),
    netns: netnsFlag,
    testbed: Flags.string({
      description:
        'send through a held testbed (`mqbench testbed up NAME`): tap, veth: from its A end, counted at B; dev: on its device; vm: see --from',
      helpValue: 'NAME',
      exclusive: ['dev', 'netns', 'rx-dev', 'rx-netns'],
    }),
    from: Flags.option({
      options: ['host', 'guest'] as const,
      default: 'host' as const,
      description:
        "vm testbed: host sends on the tap into the guest, counted per guest RX queue by the guest agent; guest: the agent's senders, one per guest queue, counted per guest TX queue and by a receiver on the host tap",
    })(),
    queues: Flags.integer({
      helpValue: 'N',
      min: 1,
      max: LIMITS.maxQueues,
      description:
        "sender threads; thread i writes to TX queue i (default 1; with --testbed the testbed's live queue count)",
    }),
    cpus: cpuListFlag({
      description: 'CPUs for the sender threads, thread i on the (i mod n)-th (default: the online CPUs)',
    }),
    'frame-size': frameSizeFlag({
      default: DEFAULT_FRAME_SIZE,
      aliases: ['size'],
      description: `frame size in bytes without FCS (${DEFAULT_FRAME_SIZE}..${LIMITS.maxFrameBytes}; IPv6 needs 80 or more); --size is the old name`,
    }),
    flows: Flags.integer({
      helpValue: 'N',
      min: 1,
      max: LIMITS.maxFlowsPerQueue,
      description: `distinct UDP 5-tuples per queue (source ports), for RSS or tun flow hashing (default 1; vm testbed: ${FLOWS_PER_GUEST_QUEUE} per guest queue in all)`,
    }),
    rate: rateFlag({
      description:
        'total rate over all queues, in pps (100kpps, 1M) or bit/s (500Mbit, 10Gbit); default: as fast as possible',
    }),
    count: Flags.integer({
      helpValue: 'FRAMES',
      min: 1,
      description: 'total frames to send (split over queues); the run still ends at --duration',
    }),
    duration: durationFlag({
      default: 10_000,
      defaultHelp: async () => '10s',
      description: 'how long to send (the run always ends by then)',
    }),
    burst: Flags.integer({
      helpValue: 'N',
      default: 32,
      min: 1,
      max: LIMITS.maxGenBurst,
      description:
        'frames per batch (one sendmmsg per batch on AF_PACKET; AF_XDP rings hold 4 batches, at least 64 frames)',
    }),
    qdisc: Flags.boolean({
      default: false,
      description: 'send through the qdisc instead of PACKET_QDISC_BYPASS (packet backend)',
    }),
    'tx-ring': Flags.boolean({
      default: false,
      description:
        'batch through a PACKET_TX_RING instead of sendmmsg (packet backend; sendmmsg measured faster here, docs/gen.md)',
    }),
    ipv6: Flags.boolean({default: false, description: 'IPv6 instead of IPv4'}),
    'src-mac': Flags.string({description: "source MAC (default: the device's)", helpValue: 'MAC'}),
    'dst-mac': Flags.string({
      description: "destination MAC (default: the --rx-dev's, else broadcast)",
      helpValue: 'MAC',
    }),
    'src-ip': Flags.string({description: 'source IP (default 198.18.0.1 / fd00:198:18::1)', helpValue: 'IP'}),
    'dst-ip': Flags.string({
      description: 'destination IP (default 198.18.0.2 / fd00:198:18::2)',
      helpValue: 'IP',
    }),
    'src-port': Flags.integer({
      helpValue: 'PORT',
      min: 1,
      max: 65535,
      description: 'first UDP source port; queue q flow f uses src-port + q*flows + f (default 1024)',
    }),
    'dst-port': Flags.integer({
      helpValue: 'PORT',
      min: 1,
      max: 65535,
      description: 'UDP destination port (default 9, discard)',
    }),
    'rx-dev': Flags.string({
      description: 'count the frames on this interface (AF_PACKET, one socket per receive queue)',
      helpValue: 'IF',
    }),
    'rx-netns': Flags.string({description: 'namespace of --rx-dev', helpValue: 'NAME'}),
    'rx-host': Flags.string({
      description:
        "count at --rx-dev on this host, reached over SSH (ssh://[user@]host[:port]; the agent is copied there for the run, docs/hosts.md); the frames go to that device's MAC and, unless --dst-ip, the host's address",
      helpValue: 'ssh://HOST',
      dependsOn: ['rx-dev', 'dev'],
      exclusive: ['rx-netns', 'testbed'],
    }),
    pcap: Flags.string({
      description: 'write the first frames of each queue to this pcap file',
      helpValue: 'FILE',
    }),
  }

  async run(): Promise<GenResult & {kernel?: GenKernel}> {
    const {flags} = await this.parse(Gen)
    await requirePrereqs('gen')
    if (!flags.dev && !flags.testbed)
      throw new MqbError('give the interface to send on (--dev IF) or a held --testbed NAME', ExitCode.usage)
    const abort = new AbortController()
    const offInterrupt = onInterrupt(() => abort.abort())
    const live = !this.jsonEnabled() && process.stderr.isTTY
    let last: GenProgress | undefined
    const hooks = {
      cleanup,
      signal: abort.signal,
      onProgress: live ? (p: GenProgress) => (this.liveLine(p, last), (last = p)) : undefined,
    }
    const held = flags.testbed ? genTestbed(flags.testbed) : undefined
    try {
      if (held?.kind === 'vm') {
        const result = await runVmGen(
          held.target,
          {
            direction: flags.from === 'guest' ? 'from-guest' : 'to-guest',
            queues: flags.queues,
            cpus: flags.cpus,
            frameSize: flags['frame-size'],
            flowsPerQueue: flags.flows,
            ratePps: flags.rate ? rateToPps(flags.rate, flags['frame-size']) : undefined,
            count: flags.count,
            burst: flags.burst,
            durationMs: flags.duration,
            srcPort: flags['src-port'],
            dstPort: flags['dst-port'],
          },
          hooks,
        )
        return this.finish(result)
      }
      if (flags.from === 'guest') throw badInput('--from guest needs a vm --testbed')
      const link = held?.target ?? {dev: flags.dev!, netns: flags.netns}
      const options = {
        backend: flags.backend,
        xdpMode: flags['xdp-mode'],
        ...link,
        queues: flags.queues ?? (held ? liveTxQueues(link.dev, link.netns) : 1),
        cpus: flags.cpus,
        frameSize: flags['frame-size'],
        flowsPerQueue: flags.flows ?? 1,
        ipVersion: (flags.ipv6 ? 6 : 4) as 4 | 6,
        srcMac: flags['src-mac'],
        dstMac: flags['dst-mac'] ?? link.dstMac,
        srcIp: flags['src-ip'] ?? link.srcIp,
        dstIp: flags['dst-ip'] ?? link.dstIp,
        srcPort: flags['src-port'],
        dstPort: flags['dst-port'],
        ratePps: flags.rate ? rateToPps(flags.rate, flags['frame-size']) : undefined,
        count: flags.count,
        durationMs: flags.duration,
        burst: flags.burst,
        qdiscBypass: !flags.qdisc,
        txRing: flags['tx-ring'],
        pcap: flags.pcap,
      }
      const result = flags['rx-host']
        ? await runFarRxGen(flags['rx-host'], flags['rx-dev']!, options, {
            ...hooks,
            check: farCheck('far:rx', {device: flags['rx-dev']}),
          })
        : await runGen(
            {...options, rx: flags['rx-dev'] ? {dev: flags['rx-dev'], netns: flags['rx-netns']} : link.rx},
            hooks,
          )
      return this.finish(result)
    } finally {
      if (held?.kind === 'vm') held.close()
      offInterrupt()
    }
  }

  private finish<R extends GenResult>(result: R): R {
    if (!this.jsonEnabled()) this.render(result)
    if (result.interrupted) process.exitCode = ExitCode.interrupted
    return result
  }

  private liveLine(p: GenProgress, prev: GenProgress | undefined): void {
    const dt = (p.elapsedMs - (prev?.elapsedMs ?? 0)) / 1000
    const rate = (q: {queue: number; packets: number; bytes: number}) => {
      const before = prev?.queues[q.queue] ?? {packets: 0, bytes: 0}
      return {pps: (q.packets - before.packets) / dt, mbps: ((q.bytes - before.bytes) * 8) / dt / 1e6}
    }
    const per = p.queues.map(rate)
    const total = per.reduce((a, r) => ({pps: a.pps + r.pps, mbps: a.mbps + r.mbps}), {pps: 0, mbps: 0})
    const queues = per.map((r, i) => `q${i} ${formatPps(r.pps)}`).join('  ')
    process.stderr.write(
      `${(p.elapsedMs / 1000).toFixed(0).padStart(4)}s  ${formatPps(total.pps).padStart(10)} ${total.mbps.toFixed(1).padStart(9)} Mbit/s | ${queues}\n`,
    )
  }

  private render(r: GenResult & {kernel?: GenKernel}): void {
    const row = (cells: Array<string | number>) =>
      cells.map((c, i) => String(c).padStart(i === 0 ? 10 : 13)).join('')
    const backend = r.xdpMode ? `xdp (${r.xdpMode} mode)` : r.backend
    if (r.backendChoice) this.log(`backend chosen: ${r.backendChoice}`)
    this.log(
      `mqbench gen: ${backend} on ${r.dev}, ${r.frameSize}-byte frames (without FCS), ${r.flowsPerQueue} flow(s) per queue, ${fmt(r.durationMs / 1000, 2)} s${r.interrupted ? ' (interrupted)' : ''}`,
    )
    this.log(row(['sender q', 'cpu', 'packets', 'bytes', 'pps', 'Mbit/s', 'refused']))
    for (const q of r.queues)
      this.log(
        row([
          q.queue,
          q.cpu,
          fmt(q.packets, 0),
          fmt(q.bytes, 0),
          fmt(q.pps, 0),
          fmt(q.mbps, 1),
          fmt(q.errors, 0),
        ]),
      )
    this.log(
      row([
        'total',
        '',
        fmt(r.packets, 0),
        fmt(r.bytes, 0),
        fmt(r.pps, 0),
        fmt(r.mbps, 1),
        fmt(
          r.queues.reduce((a, q) => a + q.errors, 0),
          0,
        ),
      ]),
    )
    // To a guest, its own per-queue view comes first: that is where the queues under test are.
    if (r.guest) this.guestBlock(r.guest, row)
    if (r.rx) {
      const h = receiverTableHeading(r.rx.dev)
      this.log(
        `\nreceiver on ${r.rx.dev}: ${fmt(r.rx.packets, 0)} frames, ${fmt(r.rx.lost, 0)} lost, ${fmt(r.rx.reordered, 0)} reordered, ${fmt(r.rx.duplicates, 0)} duplicates, ${fmt(r.rx.socketDrops ?? 0, 0)} dropped by the receive socket`,
      )
      this.log(h.title)
      this.log(row([h.column, 'received', 'lost', 'reordered', 'duplicates']))
      for (const q of r.rx.queues)
        this.log(row([q.queue, fmt(q.packets, 0), fmt(q.lost, 0), fmt(q.reordered, 0), fmt(q.duplicates, 0)]))
    }
    if (r.placement) this.log(`\n${placementText(r.placement)}`)
    if (r.kernel) for (const k of [r.kernel.tx, r.kernel.rx]) if (k) this.kernelBlock(k)
  }

  private guestBlock(g: GenGuest, row: (cells: Array<string | number>) => string): void {
    const into = g.direction === 'to-guest'
    const h = guestTableHeading(g)
    this.log(`\n${h.title}`)
    this.log(row([h.column, into ? 'received' : 'sent', 'pps', 'driver rx', 'driver tx']))
    for (const q of g.queues)
      this.log(
        row([
          q.queue,
          fmt(into ? (q.received ?? 0) : q.txPackets, 0),
          fmt(q.pps, 0),
          fmt(q.rxPackets, 0),
          fmt(q.txPackets, 0),
        ]),
      )
  }

  private kernelBlock(k: NonNullable<GenKernel['rx']>): void {
    const keys = [
      'tx_packets',
      'tx_bytes',
      'tx_dropped',
      'tx_errors',
      'rx_packets',
      'rx_bytes',
      'rx_dropped',
      'rx_errors',
    ]
    this.log(
      `\nkernel counters of ${k.dev}${k.netns ? ` (netns ${k.netns})` : ''}, after minus before: ${keys
        .filter((x) => x in k.statistics)
        .map((x) => `${x} ${fmt(k.statistics[x], 0)}`)
        .join(', ')}`,
    )
    for (const q of k.perQueue) {
      const nz = Object.entries(q.counters).filter(([, v]) => v !== 0)
      if (nz.length) this.log(`  queue ${q.queue}: ${nz.map(([n, v]) => `${n} ${fmt(v, 0)}`).join(', ')}`)
    }
  }
}

/** A testbed's live queue count, as its A end's kernel shows it (TX queues in use). */
function liveTxQueues(dev: string, netns?: string): number {
  return Math.min(LIMITS.maxQueues, deviceFacts(dev, netns ?? '').txQueues)
}
