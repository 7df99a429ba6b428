// Far ends on another host over SSH (docs/hosts.md), against one sshd host in a namespace of its
// own (network, mount, PID): host-mode refusals, rr and stream through the CLI, and the faults
// (unreachable, agent killed, sshd killed, link deleted, Ctrl-C), each leaving nothing on the
// host and nothing here.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {CheckReport} from '../../src/check/run.js'
import {ifctl} from '../../src/native.js'
import {loadResults} from '../../src/results/load.js'
import type {RrResult} from '../../src/results/schema.js'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {FarHost} from '../../src/hosts/ssh.js'
import {RUN_JS, startMqbench, type CliResult} from '../helpers/mqbench-cli.js'
import {netAdminMissing} from '../helpers/privileges.js'
import {createSshHost, sshdMissing, type SshTestHost} from '../helpers/ssh-host.js'

const missing = netAdminMissing ?? sshdMissing
if (missing && process.env.CI) throw new Error(`CI must run the SSH far-end tests, but: ${missing}`)
const describeSsh = missing ? describe.skip : describe

/** ssh processes of this machine that use the test host's config: none may outlive a run. */
function localSsh(h: SshTestHost): string[] {
  return spawnSync('pgrep', ['-a', '-f', h.dir], {encoding: 'utf8'})
    .stdout.split('\n')
    .filter((l) => l.includes('ssh ') && !l.includes(RUN_JS))
}

describeSsh('far ends over SSH', () => {
  let h: SshTestHost
  const saved = {...process.env}
  const cli = (args: string[], onStderr?: Parameters<typeof startMqbench>[1]) =>
    startMqbench(args, onStderr, h.env)
  const oneLine = (r: CliResult) =>
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => !/^\s*(›|Warning)/.test(l))

  beforeAll(async () => {
    h = await createSshHost()
    process.env.MQBENCH_SSH_CONFIG = h.env.MQBENCH_SSH_CONFIG
  })
  afterAll(() => {
    process.env = saved
    if (!h) return
    const left = [...h.leftovers(), ...localSsh(h)]
    h.close()
    expect(left).toEqual([])
  })

  it('host mode refuses exec (reboot, rm) and writes outside its directory, and takes one inside it', async () => {
    const host = await FarHost.open(h.url)
    try {
      expect(host.agentHello.mode).toBe('host')
      expect(host.agentHello.address).toBe(h.ip)
      const dir = host.agentHello.dir!
      expect(dir).toMatch(/^\/tmp\/mqbench-agent\./)
      for (const argv of [['reboot'], ['rm', '-rf', '/tmp/x'], ['sh', '-c', 'true']])
        await expect(host.exec(argv)).rejects.toThrow(
          new RegExp(`^far end ${h.url}: agent exec: .*refused in host mode`),
        )
      for (const path of [
        '/tmp/outside',
        `${dir}/../escape`,
        `${dir}/sub/x`,
        `${dir}/`,
        '/proc/sys/net/ipv4/ip_forward',
      ])
        await expect(host.request('write_file', {path, data: '1'})).rejects.toThrow(/refused in host mode/)
      expect(h.sh('ls /tmp').stdout.trim().split('\n')).toEqual([dir.slice(5)])
      await expect(host.request('write_file', {path: `${dir}/note`, data: 'ok'})).resolves.toEqual({bytes: 2})
      // reads stay allowed: they are how the prerequisites are checked
      const r = await host.request<{data: string}>('read_file', {
        path: '/proc/sys/net/ipv4/ip_local_port_range',
      })
      expect(r.data).toMatch(/^\d+\s+\d+/)
    } finally {
      await host.close()
    }
    expect(h.leftovers()).toEqual([])
  })

  it('runs rr and stream with the server on the SSH host, results of the usual form', async () => {
    const rr = await cli(['rr', '--server', h.url, '--sessions', '4', '--duration', '1s', '--json']).done
    expect(rr.stderr).toBe('')
    expect(rr.status).toBe(0)
    const r = JSON.parse(rr.stdout) as {
      server: {host: string}
      transactionsPerSecond: number
      sessions: unknown[]
    }
    expect(r.server.host).toBe(h.ip)
    expect(r.sessions).toHaveLength(4)
    expect(r.transactionsPerSecond).toBeGreaterThan(100)
    const st = await cli([
      'stream',
      '--server',
      h.url,
      '--type',
      'tcp_maerts',
      '--sessions',
      '2',
      '--duration',
      '1s',
      '--json',
    ]).done
    expect(st.status).toBe(0)
    const s = JSON.parse(st.stdout) as {gbps: number; serviceDemandUsPerKB: {remote?: number}}
    expect(s.gbps).toBeGreaterThan(0)
    expect(s.serviceDemandUsPerKB.remote).toBeGreaterThan(0)
    expect(h.leftovers()).toEqual([])
  })

  it('gen counted by a receiver on the SSH host, per sender queue, nothing lost', async () => {
    const r = await cli([
      ...[
        'gen',
        '--dev',
        h.devHere,
        '--queues',
        '2',
        '--count',
        '1001',
        '--rate',
        '20kpps',
        '--duration',
        '3s',
      ],
      ...['--rx-host', h.url, '--rx-dev', h.devThere, '--json'],
    ]).done
    expect(r.status, r.stderr).toBe(0)
    const g = JSON.parse(r.stdout) as {
      packets: number
      rx: {dev: string; packets: number; lost: number; duplicates: number; queues: Array<{packets: number}>}
    }
    expect(g.packets).toBe(1001)
    expect(g.rx.dev).toBe(`${h.devThere} on ${h.url}`)
    expect(g.rx.packets).toBe(1001)
    expect(g.rx.lost).toBe(0)
    expect(g.rx.duplicates).toBe(0)
    expect(g.rx.queues.map((q) => q.packets)).toEqual([501, 500])
    expect(h.leftovers()).toEqual([])
  })

  it('gen refuses a far device that does not exist before anything starts there', async () => {
    const r = await cli([
      'gen',
      '--dev',
      h.devHere,
      '--count',
      '10',
      '--rx-host',
      h.url,
      '--rx-dev',
      'nosuch0',
    ]).done
    expect(r.status).toBe(5)
    expect(oneLine(r)).toEqual([`mqbench: far end ${h.url}: no network device nosuch0`])
    expect(h.leftovers()).toEqual([])
  })

  /** The shape of a results file: its keys, recursively, with arrays by their first element. */
  const shape = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.length
        ? [shape(v[0])]
        : []
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, shape((v as Record<string, unknown>)[k])]),
          )
        : typeof v
  const scaleArgs = (out: string) => [
    ...['scale', '--queues', '1..2', '--workload', 'rr', '--sessions', '2'],
    ...['--duration', '0.5s', '--warmup', '0.2s', '--iterations', '1', '--out', out],
  ]

  it('scale with its far end on the SSH host: a results file and report of the same form as a local one', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mqb-ssh-scale-'))
    try {
      const r = await cli([
        ...scaleArgs(join(out, 'ssh')),
        '--testbed',
        `dev:${h.devHere}`,
        '--server',
        h.url,
      ]).done
      expect(r.status, r.stderr).toBe(0)
      const local = await cli([...scaleArgs(join(out, 'local')), '--testbed', 'veth']).done
      expect(local.status, local.stderr).toBe(0)
      const [ssh, loc] = ['ssh', 'local'].map((d) => {
        const files = readdirSync(join(out, d))
        expect(files.filter((f) => f.endsWith('.html'))).toHaveLength(1)
        return loadResults(
          join(
            out,
            d,
            files.find((f) => f.endsWith('.json'))!,
          ),
        )
      })
      expect(ssh.run.status).toBe('complete')
      expect(ssh.config.testbed.server).toBe(h.url)
      expect(ssh.steps.map((s) => s.queueCount)).toEqual([1, 2])
      expect(ssh.steps[1].iterations[0].result.workload).toBe('rr')
      // the same fields as the local run's, but those of the testbed itself (a server, no namespaces)
      const {testbed: _a, ...sshConfig} = ssh.config
      const {testbed: _b, ...locConfig} = loc.config
      expect(shape(sshConfig)).toEqual(shape(locConfig))
      // The result's fields too, but for the queue attribution, whose form follows the testbed:
      // veth attributes each session to a queue (its XPS map) and groups them; a dev testbed's
      // sessions say why they were not attributed, and there are no groups.
      const [sshRr, locRr] = [ssh, loc].map((f) => f.steps[1].iterations[0].result) as RrResult[]
      expect(locRr.queues).toHaveLength(2)
      const unattributed = ({queues: _q, movedSessions: _m, sessions, ...r}: RrResult) => ({
        ...r,
        sessions: sessions.map(({queue: _s, ...x}) => x),
      })
      expect(shape(unattributed(sshRr))).toEqual(shape(unattributed(locRr)))
      expect(sshRr.sessions.every((x) => x.queue.method === 'none' && Boolean(x.queue.reason))).toBe(true)
      expect(Object.keys(ssh.steps[1]).sort()).toEqual(Object.keys(loc.steps[1]).sort())
    } finally {
      rmSync(out, {recursive: true, force: true})
    }
    expect(h.leftovers()).toEqual([])
  })

  it('scale whose far host fails mid-sweep keeps the finished step and names the far end', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mqb-ssh-scale-'))
    try {
      let killed = false
      const args = [...scaleArgs(out), '--testbed', `dev:${h.devHere}`, '--server', h.url]
      const r = await cli(
        args.map((a) => (a === '0.5s' ? '1.5s' : a)),
        (err) => {
          if (!killed && /step 2\/2/.test(err)) {
            killed = true
            setTimeout(() => h.killAgent(), 800)
          }
        },
      ).done
      expect(r.status, r.stderr).toBe(11)
      expect(r.stderr).toMatch(
        new RegExp(
          `the test stopped early: far end ${h.url} lost .*its agent was killed by signal 9; 1 of 2 steps kept in`,
        ),
      )
      const results = loadResults(
        join(
          out,
          readdirSync(out).find((f) => f.endsWith('.json'))!,
        ),
      )
      expect(results.run.status).toBe('failed')
      expect(results.steps.map((s) => s.queueCount)).toEqual([1])
      expect(results.run.endReason).toMatch(new RegExp(`far end ${h.url} lost`))
    } finally {
      rmSync(out, {recursive: true, force: true})
    }
    expect(h.leftovers()).toEqual([])
  })

  const checkArgs = [
    'check',
    '--dev',
    '',
    '--server',
    '',
    '--queues',
    '2',
    '--sessions',
    '4',
    '--duration',
    '1s',
  ]
  const checkOn = (h: SshTestHost) => checkArgs.map((a, i) => (i === 2 ? h.devHere : i === 4 ? h.url : a))

  it('check: the live-interface plan with its far end on the SSH host, channels restored', async () => {
    const before = ifctl.getChannels(h.devHere)
    const r = await cli([...checkOn(h), '--json']).done
    expect(r.status, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as CheckReport
    const by = Object.fromEntries(report.checks.map((c) => [c.id, c]))
    expect(by['channels-set']).toMatchObject({status: 'PASS', evidence: expect.stringMatching(/^read back/)})
    expect(by['sysfs-queues']).toMatchObject({status: 'PASS', evidence: '2 rx-*, 2 tx-*'})
    expect(by['one-queue'].status).toBe('PASS')
    expect(by.restore.status).toBe('PASS')
    expect(report.failed).toBe(0)
    expect(report.transactionsPerSecond.atN).toBeGreaterThan(100)
    expect(ifctl.getChannels(h.devHere)).toEqual(before)
    expect(h.leftovers()).toEqual([])
  })

  it('check whose far agent is killed in its last load: one line naming the host, not a failed check, channels restored, nothing left', async () => {
    const before = ifctl.getChannels(h.devHere)
    let killed = false
    const r = await cli(checkOn(h), (err) => {
      if (!killed && /running 4 TCP_RR sessions .* at 1 queue/.test(err)) {
        killed = true
        setTimeout(() => h.killAgent(), 300)
      }
    }).done
    expect(killed).toBe(true)
    expect([6, 11]).toContain(r.status)
    expect(oneLine(r).filter((l) => !l.startsWith('..'))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^mqbench: far end ${h.url} lost \\d+\\.\\d s after it was opened .*: its agent was killed by signal 9`,
        ),
      ),
    ])
    expect(ifctl.getChannels(h.devHere)).toEqual(before)
    expect(h.leftovers()).toEqual([])
  })

  it('names an unreachable host in one line, exit 6', async () => {
    const r = await cli(['rr', '--server', `ssh://root@${h.ipNobody}`, '--duration', '1s']).done
    expect(r.status).toBe(6)
    expect(oneLine(r)).toHaveLength(1)
    expect(r.stderr).toMatch(
      new RegExp(
        `far end ssh://root@${h.ipNobody}: cannot start the agent: the SSH connection failed: .*No route to host`,
      ),
    )
  })

  it('refuses a far host that cannot hold the sessions before starting anything there', async () => {
    const r = await cli(['rr', '--server', h.url, '--sessions', '100000', '--duration', '1s']).done
    expect(oneLine(r)).toHaveLength(1)
    expect(r.stderr).toMatch(
      /far end .*: 100000 sessions need about 100064 open files but RLIMIT_NOFILE's hard limit is \d+: raise/,
    )
    expect(r.status).toBe(8)
    expect(h.leftovers()).toEqual([])
  })

  /** rr for 6 s; `fault` once it runs; the line, the partial result and what is left. */
  async function faulted(fault: () => void): Promise<{r: CliResult}> {
    let done = false
    const run = cli(
      ['rr', '--server', h.url, '--sessions', '2', '--duration', '6s', '--interval', '500ms'],
      (err) => {
        if (!done && /trans\/s/.test(err)) {
          done = true
          setTimeout(fault, 500)
        }
      },
    )
    return {r: await run.done}
  }

  it('an agent killed mid-run: one line naming the host, when and why; partial result; nothing left', async () => {
    const {r} = await faulted(() => h.killAgent())
    expect(r.status).toBe(11)
    expect(r.stderr).toMatch(
      new RegExp(
        `far end ${h.url} lost \\d+\\.\\d s after it was opened \\(\\d{4}-.*Z\\): its agent was killed by signal 9; kept \\d`,
      ),
    )
    expect(r.stdout).toMatch(/transactions\/s/)
    expect(h.leftovers()).toEqual([])
  })

  it('Ctrl-C cleans the far host', async () => {
    let sent = false
    const run = cli(['rr', '--server', h.url, '--duration', '20s', '--interval', '500ms'], (err, child) => {
      if (!sent && /trans\/s/.test(err)) {
        sent = true
        child.kill('SIGINT')
      }
    })
    const r = await run.done
    expect(r.status).toBe(130)
    expect(h.leftovers()).toEqual([])
    expect(localSsh(h)).toEqual([])
  })

  it('mqbench killed (SIGKILL) mid-run: its ssh ends, and so does the far agent with its directory', async () => {
    let sent = false
    const run = cli(['rr', '--server', h.url, '--duration', '20s', '--interval', '500ms'], (err, child) => {
      if (!sent && /trans\/s/.test(err)) {
        sent = true
        child.kill('SIGKILL')
      }
    })
    expect((await run.done).signal).toBe('SIGKILL')
    await waitFor(() => h.leftovers().length === 0 && localSsh(h).length === 0, 10_000)
    expect(h.leftovers()).toEqual([])
    expect(localSsh(h)).toEqual([])
  })

  it('sshd killed mid-run: one line, partial result, nothing left', async () => {
    const {r} = await faulted(() => h.killSshd())
    h.startSshd()
    expect(r.status).toBe(11)
    expect(r.stderr).toMatch(new RegExp(`far end ${h.url} lost .*: the SSH connection failed`))
    await waitFor(() => h.leftovers().length === 0, 5000)
    expect(h.leftovers()).toEqual([])
  })

  it('link deleted mid-run: one line, partial result; the agent stops by itself there', async () => {
    const {r} = await faulted(() => h.deleteLink())
    expect([6, 11]).toContain(r.status)
    expect(r.stderr).toMatch(
      new RegExp(`far end ${h.url} lost .*: the SSH connection failed: .*(Timeout|not responding)`),
    )
    // the host never heard the end of the session: its agent's idle watchdog ends it
    await waitFor(() => h.leftovers().length === 0, 20_000)
    expect(h.leftovers()).toEqual([])
    expect(localSsh(h)).toEqual([])
  })
})

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 250))
}
