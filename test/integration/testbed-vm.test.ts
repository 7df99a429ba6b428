// The vm testbed under TCG: one guest booted for the in-process tests (queue changes with the
// three-way read-back, guest evidence, traffic, console, then reboots: a QMP system_reset and the
// guest's own `reboot -f`, after each of which the agent answers hello again on a new connection,
// the NIC has the same channels and per-queue interrupt lines and TCP_RR sessions still run), and
// CLI runs that boot their own (scale with gen, whose report is checked in Chromium; Ctrl-C and
// kill -9 with nothing left; a detached guest for rr and stream; a bad kernel).
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {loadResults} from '../../src/results/load.js'
import type {GenResult, ResultsFile} from '../../src/results/schema.js'
import {chromium} from 'playwright-core'
import {interruptText} from '../../src/report/charts.js'
import {writeReport} from '../../src/report/index.js'
import {CHROMIUM_ARGS, CHROMIUM_PATH} from '../../src/host/chromium.js'
import {queueInterrupts} from '../../src/results/stats.js'
import {openReport} from '../helpers/report-page.js'
import {runRr} from '../../src/sessions/index.js'
import {createVmBed, type Testbed} from '../../src/testbed/index.js'
import {ownerSelf, stateDir} from '../../src/testbed/registry.js'
import {vmNames, type VmBed} from '../../src/testbed/vm.js'
import {guestSnapshot} from '../../src/vm/guest-observe.js'
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
  let bed: VmBed
  let tb: Testbed

  beforeAll(async () => {
    bed = await createVmBed(
      {kind: 'vm', name},
      // held as `testbed up` holds one: its console takes input (a running check's or scale's is refused)
      {maxQueues: 2, cleanup, vm: {accel: 'auto', vcpuCpus: [1, 0]}, owner: ownerSelf('test', true)},
    )
    tb = bed.testbed
  }, 120_000)

  const token = `t${uniqueTag()}`
  let farServer: Promise<{port: number; close(): Promise<void>}>
  beforeAll(() => {
    farServer = tb.startFarServer!(token, 20)
  })

  let farClosed = false
  async function closeFar(): Promise<void> {
    if (!farClosed) await (await farServer)?.close()
    farClosed = true
  }

  afterAll(async () => {
    await closeFar()
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
    // The NIC's features from both sides: mq=on was asked for, qemu offered MQ, the 6.1 driver
    // took it and its sysfs shows it; qemu 7.2 offers queue_reset (bit 40) by default.
    const v = g.virtio!
    expect(v.properties).toMatchObject({id: 'nic0', mq: 'on', vectors: '6'})
    expect(v.offered).toEqual(expect.arrayContaining(['VIRTIO_NET_F_MQ', 'VIRTIO_F_VERSION_1']))
    expect(v.negotiated).toContain('VIRTIO_NET_F_MQ')
    expect(v.guest).toContain('VIRTIO_NET_F_MQ')
    expect(v.negotiated.every((f) => v.offered.includes(f))).toBe(true)
    expect(v.ringSize).toBeGreaterThan(0)
    expect(v.findings).toEqual([])
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

  // Reboots last: what must survive them is what the tests above saw. The agent's server in the
  // guest does not survive a reboot: each load starts its own.
  /** What must survive a reboot: channels, the queue interrupt lines. */
  async function facts() {
    const agent = bed.guest.agent
    const ch = await agent.request<{maxCombined: number; combined: number}>('channels_get', {dev: 'eth0'})
    const snap = await guestSnapshot(agent, 'eth0')
    return {
      maxCombined: ch.maxCombined,
      combined: ch.combined,
      lines: snap.queueInterrupts.map((q) => q.name).sort(),
    }
  }

  async function shortRr(): Promise<void> {
    const rrToken = `t${uniqueTag()}`
    const far = await tb.startFarServer!(rrToken, 4)
    try {
      const r = await runRr({
        server: bed.ipGuest,
        port: far.port,
        netns: bed.ns,
        token: rrToken,
        type: 'tcp_rr',
        sessions: 4,
        requestSize: 1,
        responseSize: 1,
        durationMs: 1000,
      })
      expect(r.sessions).toHaveLength(4)
      for (const s of r.sessions) expect(s.transactions).toBeGreaterThan(0)
    } finally {
      await far.close()
    }
  }

  for (const how of ['reset', 'guest'] as const) {
    it(`comes back after a ${how === 'reset' ? 'QMP system_reset' : "guest's reboot -f"} with the same queues and interrupt lines, and carries traffic`, async () => {
      await closeFar()
      const before = await facts()
      expect(before.maxCombined).toBe(2)
      expect(before.lines).toEqual(
        expect.arrayContaining([expect.stringMatching(/-input\.0$/), expect.stringMatching(/-output\.1$/)]),
      )
      const connections = bed.guest.agent.connections
      const seen = await bed.guest.reboot({how})
      expect(seen.how).toBe(how)
      expect(seen.resets).toBeGreaterThanOrEqual(1)
      expect(seen.resetMs).toBeLessThanOrEqual(seen.backMs)
      expect(seen.hello.protocol).toBe(1)
      expect(seen.hello.build).toBe(bed.guest.setup.agent.build)
      expect(seen.agentConnections).toBeGreaterThan(connections)
      // the guest really started again: its init printed its marks after the reset
      expect(Object.keys(seen.bootMarks)).toEqual(expect.arrayContaining(['init', 'net', 'agent']))
      expect(seen.vcpuCpus).toEqual([1, 0])
      bed.guest.checkAlive()
      expect(await facts()).toEqual(before)
      await shortRr()
    }, 120_000)
  }

  it('through the testbed: the queue count set before the reboot is set again and read back', async () => {
    await tb.setQueueCount(1)
    const seen = await bed.reboot({how: 'reset'})
    expect(seen.queues).toMatchObject({
      queueCount: 1,
      channels: {combined: 1, maxCombined: 2},
      sysfsQueues: {rx: 1, tx: 1},
      tapQueues: {attached: 1, detached: 1},
    })
    expect(tb.queueCount()).toBe(1)
    await tb.setQueueCount(2)
    await shortRr()
  }, 120_000)
})

describeNet('vm testbed from the CLI', () => {
  const out = mkdtempSync(join(tmpdir(), 'mqb-vm-res-'))
  let sweep: ResultsFile | undefined

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
    sweep = results
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

  // The report of that real run, as people see it in headless Chromium: the guest's setup
  // (kernel, accel, vCPUs, queue pairs, vectors, the qemu command line) and, per step, every
  // queue's interrupt counts from the guest's /proc/interrupts, equal to what the file holds.
  it("reports the sweep with the guest setup and every queue's interrupts, in Chromium", async () => {
    const results = sweep
    if (!results) throw new Error('the sweep above wrote no results')
    const file = join(out, 'vm.html')
    await writeReport([results], {out: file})
    const browser = await chromium.launch({executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS})
    try {
      const {page, requests, problems, url} = await openReport(browser, file)
      const g = results.config.testbed.guest!
      const meta = await page.evaluate(() =>
        Object.fromEntries(
          [...document.querySelectorAll('.run-meta dt')].map((dt) => [
            dt.textContent ?? '',
            dt.nextElementSibling?.textContent ?? '',
          ]),
        ),
      )
      expect(meta.testbed).toMatch(/^vm /)
      expect(meta.guest).toContain(g.kernel.release)
      expect(meta.guest).toContain(`${g.accel}`)
      expect(meta.guest).toContain('2 vCPUs')
      expect(meta.guest).toContain('2 queue pairs, 6 vectors')
      expect(meta['guest agent']).toContain(g.agent.build)
      expect(meta[`qemu ${g.qemuVersion}`]).toBe(g.commandLine)
      expect(g.commandLine).toMatch(/mq=on,vectors=6/)
      expect(meta['virtio features']).toMatch(/offered features negotiated: MQ negotiated/)

      // the share table's interrupt column: one row per step, every queue's rx and tx lines
      const rows = await page.evaluate(() => {
        const table = [...document.querySelectorAll('table')].find((t) =>
          [...t.querySelectorAll('th')].some((th) => th.textContent === 'interrupts per queue'),
        )
        if (!table) return []
        const heads = [...table.querySelectorAll('th')].map((th) => th.textContent ?? '')
        const col = heads.indexOf('interrupts per queue')
        const q = heads.indexOf('queues')
        return [...table.querySelectorAll('tbody tr')].map((tr) => {
          const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')
          return {queues: cells[q], irqs: cells[col]}
        })
      })
      expect(rows.map((r) => r.queues)).toEqual(['1', '2'])
      for (const step of results.steps) {
        const perQueue = queueInterrupts(step.iterations.flatMap((i) => i.interrupts))
        // a disabled queue keeps its interrupt lines (with little or nothing on them); every live one counted
        expect(perQueue.map((p) => p.queue)).toEqual([0, 1])
        for (const p of perQueue.filter((x) => x.queue < step.queueCount))
          expect(p.rx, `input.${p.queue} at ${step.queueCount} queues`).toBeGreaterThan(0)
        const shown = rows.find((r) => r.queues === String(step.queueCount))!.irqs
        expect(shown).toBe(interruptText(perQueue))
        expect(shown).toMatch(/^q0 rx [\d,]+ tx [\d,]+ \/ q1 /)
      }
      expect(requests).toEqual([url])
      expect(problems).toEqual([])
    } finally {
      await browser.close()
    }
  })

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

  // One guest for both: the detached holder is the same foreground holder, spawned in the background.
  it('holds a detached guest that rr and stream find by its name; killed with SIGKILL, down removes it', async () => {
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
      // the holder killed with SIGKILL: qemu (its own process group) and the namespace outlive it
      // until `down`, which names what it removed
      const {pid} = JSON.parse(readFileSync(join(stateDir(), `${name}.json`), 'utf8')) as {pid: number}
      process.kill(pid, 'SIGKILL')
      for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 50))
      expect(qemuOf(name)).toHaveLength(1)
      const down = await mqbench(['testbed', 'down', name])
      expect(down.status, down.stderr).toBe(0)
      expect(down.stdout).toMatch(/qemu \(pid \d+\)/)
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
