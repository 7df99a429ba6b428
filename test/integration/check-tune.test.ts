// check and tune on a real veth pair in two namespaces. veth has ethtool channels (rx/tx, no
// combined) but no interrupts, so `check` must answer N/A for the interrupt lines, and
// `tune --apply` then `--revert` must leave channels, XPS and RPS exactly as they were.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runCheck} from '../../src/check/run.js'
import {ExitCode} from '../../src/errors.js'
import {ifctl} from '../../src/native.js'
import {readConfigInForce, readDeviceConfig, readSysfsQueueCounts} from '../../src/observe/config.js'
import {observeDelta, takeSnapshot} from '../../src/observe/snapshot.js'
import {runTune} from '../../src/tune/index.js'
import {startServer, type ServerHandle} from '../../src/sessions/index.js'
import {run} from '../../src/util/exec.js'
import {cleanup, createNetPair, leftovers, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

/** Everything tune may touch, read raw from sysfs and the channels ioctl. */
function fullState(p: NetPair) {
  const files = run('ip', [
    'netns',
    'exec',
    p.nsA,
    'sh',
    '-c',
    `cd /sys/class/net/${p.devA}/queues && grep -H . */rps_cpus */rps_flow_cnt */xps_cpus 2>/dev/null`,
  ]).stdout
  return {channels: ifctl.getChannels(p.devA, p.nsA), files: files.split('\n').filter(Boolean).sort()}
}

describeNet('tune on a veth pair', () => {
  let p: NetPair
  let dir: string
  beforeAll(() => {
    p = createNetPair(4)
    dir = mkdtempSync(join(tmpdir(), 'mqb-tune-'))
    // start below one queue per CPU so that the plan changes channels too
    ifctl.setChannels(p.devA, {rx: 1, tx: 1}, p.nsA)
  })
  afterAll(() => {
    p?.close()
    rmSync(dir, {recursive: true, force: true})
    expect(leftovers(p.tag)).toEqual([])
  })

  it('--apply changes channels and XPS, and --revert puts every value back', () => {
    const before = fullState(p)
    expect(before.channels).toMatchObject({rx: 1, tx: 1, maxRx: 4, maxTx: 4})
    const undoPath = join(dir, 'undo.json')
    const r = runTune(p.devA, {netns: p.nsA, apply: true, undoPath})
    const cfg = readDeviceConfig(p.devA, {netns: p.nsA})
    const want = Math.min(4, cfg.localCpus.length)
    expect(r.findings.find((f) => f.area === 'irq-affinity')?.level).toBe('info') // veth has no interrupts
    expect(r.applied!.changes[0]).toEqual({what: `${p.devA} rx/tx queues`, from: '1', to: String(want)})
    expect(cfg.channels).toMatchObject({rx: want, tx: want})
    if (want > 1) expect(cfg.txQueues.every((q) => (q.xpsCpus ?? []).length > 0)).toBe(true)
    expect(fullState(p)).not.toEqual(before)

    const rev = runTune('', {revertPath: undoPath})
    expect(rev.reverted!.failures).toEqual([])
    expect(fullState(p)).toEqual(before)
  })
})

describeNet('check on a veth pair', () => {
  let p: NetPair
  let server: ServerHandle | undefined
  beforeAll(async () => {
    p = createNetPair(4)
    server = await startServer({bind: p.ipB, port: 0, netns: p.nsB, token: `t${p.tag}`})
  })
  afterAll(async () => {
    await server?.close()
    p?.close()
    expect(leftovers(p.tag)).toEqual([])
  })

  it('runs the plan end to end: channels PASS, interrupt lines N/A with the reason, channels restored', async () => {
    const before = ifctl.getChannels(p.devA, p.nsA)
    const phases: string[] = []
    const r = await runCheck(
      {
        dev: p.devA,
        netns: p.nsA,
        server: p.ipB,
        port: server!.port,
        token: `t${p.tag}`,
        queues: 2,
        sessions: 4,
        durationMs: 1000,
      },
      {cleanup, onPhase: (l) => phases.push(l)},
    )
    const by = Object.fromEntries(r.checks.map((c) => [c.id, c]))
    expect(by['channels-max']).toMatchObject({status: 'PASS', evidence: 'rx 4 tx 4 (max rx 4 tx 4); need 2'})
    expect(by['channels-set']).toMatchObject({
      status: 'PASS',
      evidence: 'read back rx 2 tx 2 (max rx 4 tx 4)',
    })
    expect(by['sysfs-queues']).toMatchObject({status: 'PASS', evidence: '2 rx-*, 2 tx-*'})
    expect(by['irq-per-queue'].status).toBe('N/A')
    expect(by['irq-per-queue'].evidence).toMatch(/^veth has no interrupts/)
    expect(by['irq-spread'].status).toBe('N/A')
    // createNetPair leaves GRO off, so veth does not use (or count) its per-queue NAPI path
    expect(by['ethtool-per-queue']).toMatchObject({status: 'N/A'})
    expect(by['ethtool-per-queue'].evidence).toContain('GRO')
    expect(by['one-queue'].status).toBe('PASS')
    expect(by['one-queue'].evidence).toMatch(
      /^1 queue: [\d,.]+ transactions\/s; 2 queues: [\d,.]+ transactions\/s/,
    )
    expect(by.restore.status).toBe('PASS')
    expect(r.failed).toBe(0)
    expect(r.transactionsPerSecond.atN).toBeGreaterThan(0)
    expect(ifctl.getChannels(p.devA, p.nsA)).toEqual(before)
    expect(phases.some((l) => l.startsWith('restoring'))).toBe(true)
  })

  it('veth counts per queue only with GRO on here and TSO off at the peer; then every rx queue rises', async () => {
    const opts = {
      dev: p.devA,
      netns: p.nsA,
      server: p.ipB,
      port: server!.port,
      token: `t${p.tag}`,
      queues: 2,
      sessions: 16,
      durationMs: 1000,
    }
    run('ip', ['netns', 'exec', p.nsA, 'ethtool', '-K', p.devA, 'gro', 'on'])
    const half = (await runCheck(opts, {cleanup})).checks.find((x) => x.id === 'ethtool-per-queue')!
    expect(half.status).toBe('N/A')
    expect(half.evidence).toMatch(/did not take its per-queue NAPI path.*rx0 packets \+0, rx1 packets \+0/)
    run('ip', ['netns', 'exec', p.nsB, 'ethtool', '-K', p.devB, 'tso', 'off'])
    // veth receives on the queue the peer sent on, and frames from peer queues beyond our count
    // skip NAPI: with 2 peer tx queues, 16 flows miss one of them with probability 2^-15.
    ifctl.setChannels(p.devB, {rx: 2, tx: 2}, p.nsB)
    const c = (await runCheck(opts, {cleanup})).checks.find((x) => x.id === 'ethtool-per-queue')!
    expect(c.status).toBe('PASS')
    expect(c.evidence).toMatch(/^rx0 packets \+[1-9]\d*, rx1 packets \+[1-9]\d*$/)
  })

  it('a server that is not reached through the interface is refused before anything changes', async () => {
    const before = ifctl.getChannels(p.devA, p.nsA)
    await expect(
      runCheck(
        {
          dev: p.devA,
          netns: p.nsA,
          server: '127.0.0.1',
          port: server!.port,
          queues: 2,
          sessions: 1,
          durationMs: 500,
        },
        {cleanup},
      ),
    ).rejects.toThrow(`--server 127.0.0.1 is reached through lo, not ${p.devA}`)
    expect(ifctl.getChannels(p.devA, p.nsA)).toEqual(before)
  })

  // issue 10 case 9: the server is reached first; nothing is changed or loaded for a server that is not there
  it('an unreachable server is an error before the channels are touched', async () => {
    const before = ifctl.getChannels(p.devA, p.nsA)
    const phases: string[] = []
    await expect(
      runCheck(
        {
          dev: p.devA,
          netns: p.nsA,
          server: p.ipB,
          port: 9,
          token: 'x',
          queues: 2,
          sessions: 1,
          durationMs: 500,
        },
        {cleanup, onPhase: (l) => phases.push(l)},
      ),
    ).rejects.toMatchObject({exitCode: ExitCode.unreachable})
    expect(phases).toEqual([`reaching the server at ${p.ipB}`])
    expect(ifctl.getChannels(p.devA, p.nsA)).toEqual(before)
  })
})

describeNet('observation of a veth in a namespace', () => {
  let p: NetPair
  beforeAll(() => {
    p = createNetPair(4)
  })
  afterAll(() => {
    p?.close()
    expect(leftovers(p.tag)).toEqual([])
  })

  it('reads queue counts and channels through the namespace, and follows ethtool -L', () => {
    expect(readSysfsQueueCounts(p.devA, {netns: p.nsA})).toEqual({rx: 4, tx: 4})
    ifctl.setChannels(p.devA, {rx: 2, tx: 3}, p.nsA)
    expect(readSysfsQueueCounts(p.devA, {netns: p.nsA})).toEqual({rx: 2, tx: 3})
    const c = readConfigInForce(p.devA, {netns: p.nsA})
    expect(c.channels).toEqual({rx: 2, maxRx: 4, tx: 3, maxTx: 4})
    expect(c.xpsCpus).toHaveLength(3)
    expect(c.offloads['generic-receive-offload']).toBe(false)
    expect(c.irqAffinity).toEqual({})
    const full = readDeviceConfig(p.devA, {netns: p.nsA})
    expect(full.virtioName).toBeUndefined() // a virtual device has no `device` link
    expect(full.numaNode).toBeUndefined()
    expect(full.driver?.driver).toBe('veth')
    expect(() => readSysfsQueueCounts(p.devB, {netns: p.nsA})).toThrow(
      `no interface ${p.devB} in network namespace ${p.nsA}`,
    )
  })

  it('a snapshot delta sees the device statistics and per-queue counters move under traffic', () => {
    run('ip', ['netns', 'exec', p.nsA, 'ethtool', '-K', p.devA, 'gro', 'on'])
    run('ip', ['netns', 'exec', p.nsB, 'ethtool', '-K', p.devB, 'tso', 'off'])
    // every peer tx queue must have a receive queue here, or its frames skip NAPI uncounted
    ifctl.setChannels(p.devA, {rx: 4, tx: 4}, p.nsA)
    const before = takeSnapshot(p.devA, {netns: p.nsA})
    expect(before.driver?.driver).toBe('veth')
    expect(before.queueInterrupts).toEqual([])
    // 40 UDP datagrams from fresh sockets (bash's /dev/udp): 40 flows, spread over the peer's tx queues
    run('ip', [
      'netns',
      'exec',
      p.nsB,
      'bash',
      '-c',
      `for i in $(seq 40); do echo x > /dev/udp/${p.ipA}/9; done`,
    ])
    const after = takeSnapshot(p.devA, {netns: p.nsA})
    expect(after.statistics.rx_packets - before.statistics.rx_packets).toBeGreaterThanOrEqual(40)
    const d = observeDelta(before, after)
    expect(d.interrupts).toEqual([])
    expect(d.queues.every((q) => q.source === 'ethtool')).toBe(true)
    // with GRO on here and TSO off at the peer, every datagram takes veth's per-queue NAPI path
    expect(d.queues.reduce((s, q) => s + q.rxPackets, 0)).toBeGreaterThanOrEqual(40)
    expect(d.queues.filter((q) => q.rxPackets > 0).length).toBeGreaterThan(1)
    expect(d.softnet.length).toBeGreaterThan(0)
  })
})
