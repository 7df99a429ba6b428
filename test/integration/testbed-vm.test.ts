// The vm testbed under TCG: one guest booted for the in-process tests (queue changes with the
// three-way read-back, guest evidence, traffic, console), and CLI runs that boot their own
// (scale with gen and rr, Ctrl-C and kill -9 with nothing left, a bad kernel).
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {loadResults} from '../../src/results/load.js'
import type {GenResult} from '../../src/results/schema.js'
import {createTestbed, type Testbed} from '../../src/testbed/index.js'
import {ownerSelf, stateDir} from '../../src/testbed/registry.js'
import {vmNames} from '../../src/testbed/vm.js'
import {run} from '../../src/util/exec.js'
import {mqbench, RUN_JS, startMqbench} from '../helpers/mqbench-cli.js'
import {cleanup, leftovers, uniqueTag} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

/** qemu processes whose command line names the testbed (`-name mqb-NAME`). */
function qemuOf(name: string): string[] {
  return run('pgrep', ['-f', `qemu-system-x86_64 -name mqb-${name},`])
    .stdout.trim()
    .split('\n')
    .filter(Boolean)
}

function nothingLeft(name: string): void {
  expect(leftovers(`mqb-${name}-`)).toEqual([])
  expect(qemuOf(name)).toEqual([])
  expect(existsSync(vmNames(name).dir)).toBe(false)
}

describeNet('vm testbed (one shared guest)', () => {
  const name = `v${uniqueTag().slice(0, 5)}`
  let tb: Testbed

  beforeAll(async () => {
    tb = await createTestbed(
      {kind: 'vm', name},
      {maxQueues: 2, cleanup, vm: {accel: 'auto', vcpuCpus: [1, 0]}, owner: ownerSelf('test')},
    )
  }, 120_000)

  const token = `t${uniqueTag()}`
  let farServer: Promise<{port: number; close(): Promise<void>}>
  beforeAll(() => {
    farServer = tb.startFarServer!(token, 20)
  })

  afterAll(async () => {
    await (await farServer)?.close()
    await tb?.close()
    cleanup.runAll()
    nothingLeft(name)
  })

  it('boots with a multiqueue NIC, per-queue vectors and the agent, and records the setup', () => {
    const g = tb.guest!
    expect(g.queues).toBe(2)
    expect(g.vectors).toBe(6)
    expect(g.vcpus).toBe(2)
    expect(g.agent.protocol).toBe(1)
    expect(g.initramfs.modules).toEqual(
      expect.arrayContaining(['virtio_net.ko', 'virtio_pci.ko', 'virtio_console.ko']),
    )
    expect(g.commandLine).toMatch(/-device virtio-net-pci,netdev=net0,mac=[0-9a-f:]+,id=nic0,mq=on,vectors=6/)
    expect(g.commandLine).toMatch(/queues=2,vhost=(on|off)/)
    expect(g.commandLine).not.toMatch(/-no-reboot/)
    expect(['kvm', 'tcg']).toContain(g.accel)
    if (g.accel === 'tcg') expect(tb.warnings!.join(' ')).toMatch(/TCG.*functional only/)
    expect(Object.keys(g.bootMarks)).toEqual(expect.arrayContaining(['init', 'modules', 'net', 'agent']))
    expect(tb.queueCount()).toBe(2)
  })

  it('pins vCPU i to the i-th CPU of --vcpu-cpus', () => {
    expect(tb.guest!.vcpuCpus).toEqual([1, 0])
    const {pid} = JSON.parse(readFileSync(join(vmNames(name).dir, 'qemu.json'), 'utf8')) as {pid: number}
    const vcpus = readdirSync(`/proc/${pid}/task`)
      .map((tid) => ({
        comm: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(),
        allowed: /Cpus_allowed_list:\s*(\S+)/.exec(
          readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'),
        )![1],
      }))
      .filter((t) => /^CPU \d+\//.test(t.comm))
      .sort((a, b) => a.comm.localeCompare(b.comm))
    expect(vcpus.map((t) => t.allowed)).toEqual(['1', '0'])
  })

  it('changes the queue count in the guest and reads it back from the guest and the host tap', async () => {
    for (const n of [1, 2, 1, 2]) {
      const rb = await tb.setQueueCount(n)
      expect(rb.channels).toEqual({combined: n, maxCombined: 2})
      expect(rb.sysfsQueues).toEqual({rx: n, tx: n})
      expect(rb.tapQueues).toEqual({attached: n, detached: 2 - n})
      expect(tb.queueCount()).toBe(n)
    }
    await expect(tb.setQueueCount(3)).rejects.toMatchObject({exitCode: 8})
  })

  it('carries traffic into the guest and proves each queue from inside it', async () => {
    const before = await tb.guestSnapshot!()
    expect(before.queueInterrupts.map((q) => q.name).sort()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^virtio\d+-input\.0$/),
        expect.stringMatching(/^virtio\d+-input\.1$/),
      ]),
    )
    expect(before.ethtoolQueues.length).toBe(2)
    // 20 TCP connections from the host namespace to the agent's server in the guest
    const r = await mqbench([
      'rr',
      '--server',
      tb.ipB,
      '--netns',
      tb.nsA,
      '--port',
      String((await farServer).port),
      '--token',
      token,
      '--sessions',
      '20',
      '--duration',
      '2s',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    const rr = JSON.parse(r.stdout) as {
      sessions: Array<{transactions: number}>
      transactionsPerSecond: number
    }
    expect(rr.sessions).toHaveLength(20)
    for (const s of rr.sessions) expect(s.transactions).toBeGreaterThan(0)
    expect(rr.transactionsPerSecond).toBeGreaterThan(0)
    const after = await tb.guestSnapshot!()
    for (const q of [0, 1]) {
      const rx = after.ethtoolQueues.find((e) => e.queue === q)!
      const rx0 = before.ethtoolQueues.find((e) => e.queue === q)!
      expect((rx.rx?.packets ?? 0) - (rx0.rx?.packets ?? 0), `guest rx queue ${q}`).toBeGreaterThan(0)
    }
  })

  it('attaches to the guest console and detaches with Ctrl-]', async () => {
    const child = spawn(process.execPath, [RUN_JS, 'testbed', 'console', name], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const marker = `mqb-${name}-${6 * 7}`
    for (let i = 0; i < 100 && !out.includes(marker); i++) {
      if (i % 20 === 0) child.stdin.write(`echo mqb-${name}-$((6 * 7))\n`)
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(out).toContain(marker)
    child.stdin.write(Buffer.from([0x1d]))
    const status = await new Promise((r) => child.on('close', r))
    expect(status).toBe(0)
    expect(out).toContain('detached')
  })
})

describeNet('vm testbed from the CLI', () => {
  const out = mkdtempSync(join(tmpdir(), 'mqb-vm-res-'))

  it('sweeps 1..2 queues with gen into the guest, every queue proven in the guest', async () => {
    const r = await mqbench([
      'scale',
      '--queues',
      '1..2',
      '--testbed',
      'vm',
      '--workload',
      'gen',
      '--duration',
      '2s',
      '--iterations',
      '1',
      '--warmup',
      '300ms',
      '--out',
      out,
      '--no-report',
      '--json',
    ])
    expect(r.status, r.stderr).toBe(0)
    const {resultsFile} = JSON.parse(r.stdout) as {resultsFile: string}
    const results = loadResults(resultsFile)
    expect(results.config.testbed.kind).toBe('vm')
    expect(results.config.testbed.guest).toMatchObject({queues: 2, vectors: 6})
    for (const step of results.steps) {
      expect(step.config.channels).toMatchObject({combined: step.queueCount})
      const it0 = step.iterations[0]
      expect(it0.queues.map((q) => q.queue)).toEqual(Array.from({length: step.queueCount}, (_, q) => q))
      for (const q of it0.queues)
        expect(q.txPackets, `queue ${q.queue} at ${step.queueCount}`).toBeGreaterThan(0)
      // the agent's receiver in the guest counted mqbench's frames on every live RX queue
      const g = (it0.result as GenResult).guest!
      expect(g.direction).toBe('to-guest')
      expect(g.queues).toHaveLength(step.queueCount)
      for (const q of g.queues)
        expect(q.received, `guest rx queue ${q.queue} at ${step.queueCount}`).toBeGreaterThan(0)
      for (let q = 0; q < step.queueCount; q++)
        expect(
          it0.interrupts.find((i) => i.name.endsWith(`-input.${q}`))?.total,
          `irq input.${q}`,
        ).toBeGreaterThan(0)
    }
    nothingLeft(results.config.testbed.name)
  }, 180_000)

  it('leaves nothing behind on Ctrl-C during a sweep', async () => {
    const {done} = startMqbench(
      [
        'scale',
        '--queues',
        '1..2',
        '--testbed',
        'vm',
        '--duration',
        '20s',
        '--iterations',
        '1',
        '--warmup',
        '300ms',
        '--out',
        out,
        '--no-report',
      ],
      (err, c) => {
        if (/step 1\/2/.test(err) && c.exitCode === null && !c.killed) c.kill('SIGINT')
      },
    )
    const r = await done
    expect(r.status, r.stderr).toBe(130)
    const file = /kept in (\S+\.json)/.exec(r.stderr)?.[1]
    expect(file, r.stderr).toBeDefined()
    nothingLeft(loadResults(file!, {allowNoSteps: true}).config.testbed.name)
  }, 180_000)

  it('holds a detached guest that rr and stream find by its name', async () => {
    const name = `d${uniqueTag().slice(0, 5)}`
    try {
      const up = await mqbench([
        'testbed',
        'up',
        name,
        '--kind',
        'vm',
        '--max-queues',
        '2',
        '--detach',
        '--json',
      ])
      expect(up.status, up.stderr).toBe(0)
      const rec = JSON.parse(up.stdout) as {kind: string; server: {host: string; port: number; token: string}}
      expect(rec.kind).toBe('vm')
      expect(rec.server.token).toMatch(/^[0-9a-f]{24}$/)
      const rr = await mqbench(['rr', '--testbed', name, '--sessions', '20', '--duration', '2s', '--json'])
      expect(rr.status, rr.stderr).toBe(0)
      const r = JSON.parse(rr.stdout) as {server: {host: string}; sessions: Array<{transactions: number}>}
      expect(r.server.host).toBe(rec.server.host)
      expect(r.sessions).toHaveLength(20)
      for (const s of r.sessions) expect(s.transactions).toBeGreaterThan(0)
      const st = await mqbench([
        'stream',
        '--testbed',
        name,
        '--type',
        'tcp_maerts',
        '--duration',
        '2s',
        '--json',
      ])
      expect(st.status, st.stderr).toBe(0)
      const none = await mqbench(['rr', '--testbed', 'nosuch', '--duration', '1s'])
      expect(none.status).toBe(5)
      expect(none.stderr).toMatch(/no testbed nosuch is held/)
    } finally {
      await mqbench(['testbed', 'down', name])
    }
    nothingLeft(name)
  }, 120_000)

  it('stops a guest that is still booting on Ctrl-C', async () => {
    const name = `i${uniqueTag().slice(0, 5)}`
    const {child, done} = startMqbench(['testbed', 'up', name, '--kind', 'vm', '--max-queues', '2'])
    for (let i = 0; i < 300 && qemuOf(name).length === 0; i++) await new Promise((r) => setTimeout(r, 50))
    expect(qemuOf(name)).toHaveLength(1)
    child.kill('SIGINT')
    const r = await done
    expect(r.status, r.stderr).toBe(130)
    nothingLeft(name)
  }, 120_000)

  it('removes a guest whose holder was killed with SIGKILL', async () => {
    const name = `k${uniqueTag().slice(0, 5)}`
    const {child, done} = startMqbench(['testbed', 'up', name, '--kind', 'vm', '--max-queues', '2'])
    let stdout = ''
    child.stdout!.on('data', (d) => (stdout += d))
    try {
      for (let i = 0; i < 600 && !stdout.includes('live queue count'); i++)
        await new Promise((r) => setTimeout(r, 100))
      expect(stdout).toContain('live queue count')
      expect(qemuOf(name)).toHaveLength(1)
      child.kill('SIGKILL')
      await done
      // qemu (its own process group) and the namespace outlive the holder until `down`
      expect(qemuOf(name)).toHaveLength(1)
      const down = await mqbench(['testbed', 'down', name])
      expect(down.status, down.stderr).toBe(0)
      expect(down.stdout).toMatch(/qemu \(pid \d+\)/)
      nothingLeft(name)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      await mqbench(['testbed', 'down', name])
    }
  }, 120_000)

  it('refuses a file that is not a kernel, and a damaged kernel, each in one line, leaving nothing', async () => {
    const name = `b${uniqueTag().slice(0, 5)}`
    const notKernel = await mqbench(['testbed', 'up', name, '--kind', 'vm', '--kernel', '/etc/hostname'])
    expect(notKernel.status).toBe(3)
    expect(notKernel.stderr.trim()).toMatch(/^mqbench: \/etc\/hostname is not an x86 Linux kernel image/)
    const damaged = join(out, 'vmlinuz-damaged')
    const image = readdirSync('/boot').find((f) => f.startsWith('vmlinuz-'))
    if (!image) return
    writeFileSync(damaged, readFileSync(join('/boot', image)).subarray(0, 3_000_000))
    const bad = await mqbench(['testbed', 'up', name, '--kind', 'vm', '--kernel', damaged])
    expect(bad.status).toBe(8)
    expect(bad.stderr).toMatch(/the guest reset during boot: .* is not a kernel this machine can start/)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    nothingLeft(name)
    expect(readdirSync(stateDir()).filter((f) => f.startsWith(name))).toEqual([])
  }, 120_000)
})
