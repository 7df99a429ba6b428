// The SSH far end's transport without SSH: the same remote script run by a local sh (no
// privileges), the URL and argument rules, the skew and exit descriptions, and the far host's
// prerequisites as pure functions. test/integration/hosts-ssh.test.ts runs it through a real sshd.
import {spawn, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ExitCode, type MqbError} from '../../src/errors.js'
import {
  agentHeader,
  describeExit,
  farAgentBinary,
  FarHost,
  fnv1a64,
  parseSshUrl,
  remoteScript,
  skew,
  sshArgs,
  type SshTarget,
  UNAME_ARCH,
} from '../../src/hosts/ssh.js'
import {packageRoot} from '../../src/prebuilds.js'
import {agentHost, answerLocally, requirePrereqs, type Host, type Probe} from '../../src/prereqs.js'
import {agentBinary} from '../../src/native.js'

const tmp = mkdtempSync(join(tmpdir(), 'mqb-hosts-unit-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))
/** the remote command run by sh here, with TMPDIR private to this test and an SSH_CONNECTION */
const localSh = (_t: SshTarget, remote: string) => [
  'env',
  `TMPDIR=${tmp}`,
  'SSH_CONNECTION=198.19.0.1 50000 198.19.0.2 22',
  'sh',
  '-c',
  remote,
]
const agentDirs = () =>
  spawnSync('ls', [tmp], {encoding: 'utf8'})
    .stdout.split('\n')
    .filter((d) => d.startsWith('mqbench-agent.'))

describe('ssh:// URLs and the ssh command line', () => {
  it.each([
    ['ssh://h', {host: 'h'}],
    ['ssh://root@198.19.0.2', {user: 'root', host: '198.19.0.2'}],
    ['ssh://me@host.example:2222', {user: 'me', host: 'host.example', port: 2222}],
    ['ssh://[fd00::2]:22', {host: 'fd00::2', port: 22}],
  ])('%s', (url, want) => {
    expect(parseSshUrl(url)).toEqual({url, user: undefined, port: undefined, ...want})
  })
  it.each([
    'ssh://',
    'ssh://a@',
    'ssh://h:0',
    'ssh://h:70000',
    'ssh://h/path',
    'ssh://a b',
    'ssh://-oProxyCommand=x',
  ])('refuses %s', (url) => {
    if (url === 'ssh://-oProxyCommand=x') {
      // a host that looks like an option still goes after `--`: ssh never reads it as one
      expect(sshArgs(parseSshUrl(url)).slice(-2)).toEqual(['--', '-oProxyCommand=x'])
      return
    }
    expect(() => parseSshUrl(url)).toThrow(/expected ssh:\/\/\[user@\]host\[:port\]/)
  })
  it('is batch mode with keepalives, then the config file and options the person gave', () => {
    const a = sshArgs(parseSshUrl('ssh://u@h:2200'), {
      MQBENCH_SSH_CONFIG: '/etc/mq/ssh_config',
      MQBENCH_SSH_OPTIONS: 'StrictHostKeyChecking=yes  Ciphers=aes128-gcm@openssh.com',
    })
    expect(a.join(' ')).toBe(
      '-T -o BatchMode=yes -o ServerAliveInterval=2 -o ServerAliveCountMax=3 -o ConnectTimeout=10 -F /etc/mq/ssh_config -o StrictHostKeyChecking=yes -o Ciphers=aes128-gcm@openssh.com -p 2200 -l u -- h',
    )
  })
})

describe('describeExit and skew', () => {
  it.each([
    [255, null, 'Connection refused', 'the SSH connection failed: Connection refused'],
    [
      97,
      null,
      'the copied agent has SHA-256 x, not y',
      'the far host could not start the agent: the copied agent has SHA-256 x, not y',
    ],
    [137, null, 'Killed', 'its agent was killed by signal 9'],
    [1, null, 'boom', 'its agent exited with status 1: boom'],
    [null, 'SIGTERM', '', 'the local ssh process was killed by SIGTERM'],
  ])('%s %s', (code, sig, line, want) => expect(describeExit(code, sig, line)).toBe(want))

  const hello = {
    agent: 'mqbench-agent',
    version: '1.0.0',
    protocol: 1,
    kernel: 'k',
    cpus: 2,
    build: 'ab',
    pid: 1,
    mode: 'host',
  }
  it('accepts its own agent and refuses another protocol, version, build or a guest-mode agent in one line', () => {
    const want = {version: '1.0.0', build: 'ab'}
    expect(skew(hello, want)).toBeUndefined()
    expect(skew({...hello, protocol: 2}, want)).toBe('its agent speaks protocol 2, this mqbench 1')
    expect(skew({...hello, version: '0.9.0'}, want)).toMatch(
      /^its agent is version 0\.9\.0, this mqbench 1\.0\.0; rebuild/,
    )
    expect(skew({...hello, build: 'cd'}, want)).toBe('its agent build cd is not the file copied (ab)')
    expect(skew({...hello, mode: 'guest'}, want)).toBe('its agent did not start in host mode')
  })
})

describe('the far host, over a local sh instead of ssh', () => {
  it('copies the agent, checks it, runs it in host mode and removes its directory at the end', async () => {
    const host = await FarHost.open('ssh://root@198.19.0.2', {transport: localSh})
    try {
      expect(host.agentHello.mode).toBe('host')
      expect(host.address).toBe('198.19.0.2')
      expect(host.agentHello.build).toBe(fnv1a64(readFileSync(agentBinary())))
      expect(host.agentHello.dir).toMatch(new RegExp(`^${tmp}/mqbench-agent\\.`))
      expect(existsSync(`${host.agentHello.dir}/mqbench-agent`)).toBe(true)
      const err = await host.exec(['true']).catch((e: unknown) => e)
      expect(err).toMatchObject({
        message:
          'far end ssh://root@198.19.0.2: agent exec: exec of true is refused in host mode: this agent runs on a real host, not in a guest: Operation not permitted',
        exitCode: ExitCode.farEnd,
        errno: 1,
      })
    } finally {
      await host.close()
    }
    expect(agentDirs()).toEqual([])
  })

  it('names the agent killed under it, when and why, and the script still removes its directory', async () => {
    const host = await FarHost.open('ssh://h', {transport: localSh})
    const failed = new Promise((r) => host.onFailure(r))
    process.kill(host.agentHello.pid, 'SIGKILL')
    await failed
    expect(host.failureLine()).toMatch(
      /^far end ssh:\/\/h lost \d+\.\d s after it was opened \(\d{4}-\d\d-\d\dT[\d:.]+Z\): its agent was killed by signal 9$/,
    )
    await expect(host.request('hello')).rejects.toThrow(host.failureLine())
    await host.close()
    expect(agentDirs()).toEqual([])
  })

  it('the script refuses a copy whose checksum differs (exit 97) and leaves nothing', () => {
    const bin = readFileSync(agentBinary())
    const wrong = createHash('sha256').update('other').digest('hex')
    const r = spawnSync('sh', ['-c', remoteScript(), 'mqbench-agent'], {
      input: Buffer.concat([Buffer.from(`${bin.length} ${wrong}\n`), bin]),
      env: {...process.env, TMPDIR: tmp},
      encoding: 'utf8',
    })
    expect(r.stdout).toBe(`MQBENCH-ARCH ${spawnSync('uname', ['-m'], {encoding: 'utf8'}).stdout}`)
    expect(r.status).toBe(97)
    expect(r.stderr).toMatch(/^the copied agent has SHA-256 [0-9a-f]{64}, not [0-9a-f]{64}\n$/)
    expect(agentDirs()).toEqual([])
  })

  it('the agent stops by itself when the host stays silent past --idle (a vanished link)', async () => {
    const bin = readFileSync(agentBinary())
    const p = spawn('sh', ['-c', remoteScript(300), 'mqbench-agent'], {env: {...process.env, TMPDIR: tmp}})
    let err = ''
    p.stderr.on('data', (b) => (err += b))
    p.stdin.write(agentHeader(bin))
    p.stdin.write(bin) // and never a request, nor the end of the input
    const code = await new Promise((r) => p.on('close', r))
    p.stdin.destroy()
    expect(code).toBe(0)
    expect(err).toMatch(/no request from the host for 300 ms; stopping/)
    expect(agentDirs()).toEqual([])
  })
})

describe("the agent for the far host's architecture", () => {
  /** an installed copy's layout with prebuilds for `archs` (the real agent's bytes) */
  const fakePackage = (archs: string[]) => {
    const root = mkdtempSync(join(tmp, 'pkg-'))
    mkdirSync(join(root, 'native'))
    copyFileSync(join(packageRoot, 'native/prebuilds.json'), join(root, 'native/prebuilds.json'))
    for (const a of archs) {
      mkdirSync(join(root, 'prebuilds', `linux-${a}`), {recursive: true})
      copyFileSync(agentBinary(), join(root, 'prebuilds', `linux-${a}`, 'mqbench-agent'))
    }
    return root
  }
  const thrown = (f: () => unknown) => {
    try {
      f()
    } catch (err) {
      return err as MqbError
    }
    throw new Error('not thrown')
  }

  it('maps uname -m to the prebuild of that architecture', () => {
    expect(UNAME_ARCH).toEqual({x86_64: 'x64', aarch64: 'arm64'})
    const root = fakePackage(['x64'])
    expect(farAgentBinary('ssh://h', 'x86_64', root)).toBe(join(root, 'prebuilds/linux-x64/mqbench-agent'))
  })

  it('refuses in one line naming the host an architecture it has no agent for (exit 13)', () => {
    const root = fakePackage(['x64'])
    const arm = thrown(() => farAgentBinary('ssh://pi', 'aarch64', root))
    expect(arm.exitCode).toBe(ExitCode.noBinary)
    expect(arm.message).toBe(
      `far end ssh://pi runs aarch64, and this mqbench ships no agent for linux-arm64 (no prebuild for linux-arm64 in ${root}/prebuilds)`,
    )
    const rv = thrown(() => farAgentBinary('ssh://rv', 'riscv64', root))
    expect(rv.exitCode).toBe(ExitCode.noBinary)
    expect(rv.message).toBe(
      'far end ssh://rv runs riscv64, for which mqbench builds no agent (it knows x86_64 and aarch64)',
    )
  })

  it('an x64 file shipped as the arm64 prebuild is refused, not copied', () => {
    const root = fakePackage(['arm64'])
    expect(thrown(() => farAgentBinary('ssh://pi', 'aarch64', root)).message).toMatch(
      /^far end ssh:\/\/pi runs aarch64, and this mqbench ships no agent for linux-arm64 \(.*is not built for arm64\)$/,
    )
  })

  it('asks the host its uname -m before copying, and copies nothing to a host it has no agent for', async () => {
    // a far host whose uname says aarch64: the transport puts a uname of its own first on PATH
    const bin = mkdtempSync(join(tmp, 'bin-'))
    writeFileSync(join(bin, 'uname'), '#!/bin/sh\necho aarch64\n', {mode: 0o755})
    const armSh = (t: SshTarget, remote: string) => [
      'env',
      `PATH=${bin}:${process.env.PATH}`,
      ...localSh(t, remote),
    ]
    const err = (await FarHost.open('ssh://pi', {transport: armSh}).catch((e: unknown) => e)) as MqbError
    expect(err.exitCode).toBe(ExitCode.noBinary)
    expect(err.message).toMatch(
      /^far end ssh:\/\/pi runs aarch64, and this mqbench ships no agent for linux-arm64/,
    )
    expect(agentDirs()).toEqual([])
  })
})

describe("the prerequisites table answered by the far host's agent", () => {
  let host: FarHost
  let far: Host
  beforeAll(async () => {
    host = await FarHost.open('ssh://h', {transport: localSh})
    far = agentHost(host, 'far end ssh://h')
  })
  afterAll(() => host?.close())

  it('answers each probe as this machine does, from its own /proc and /sys', async () => {
    const probes: Probe[] = [
      {kind: 'netDevice', name: 'lo'},
      {kind: 'netDevice', name: 'mqbnosuch0'},
      {kind: 'capability', cap: 'CAP_NET_RAW'},
      {kind: 'command', name: 'sh'},
      {kind: 'command', name: 'mqb-no-such-tool'},
      {kind: 'openFiles', sessions: 10},
      {kind: 'openFiles', sessions: 1e9},
    ]
    const there = await far.answer(probes)
    expect(there.map((a) => a.ok)).toEqual(probes.map((p) => answerLocally(p).ok))
    expect(there.map((a) => a.ok)).toEqual([true, false, there[2]!.ok, true, false, true, false])
    expect(there[1]!.why).toBe('no network device mqbnosuch0')
  })

  it('refuses in one line naming the host, with the exit code of the first missing piece', async () => {
    const err = (await requirePrereqs('far:rx', {device: 'mqbnosuch0', host: far}).catch(
      (e: unknown) => e,
    )) as MqbError
    const noRaw = !answerLocally({kind: 'capability', cap: 'CAP_NET_RAW'}).ok
    expect(err.message).toBe(
      noRaw
        ? 'far end ssh://h: mqbench needs CAP_NET_RAW: log in as root there (its agent runs as the SSH user); no network device mqbnosuch0'
        : 'far end ssh://h: no network device mqbnosuch0',
    )
    expect(err.exitCode).toBe(noRaw ? ExitCode.privilege : ExitCode.noDevice)
    const files = (await requirePrereqs('far:server', {sessions: 1e9, host: far}).catch(
      (e: unknown) => e,
    )) as MqbError
    expect(files.exitCode).toBe(ExitCode.unsupported)
    expect(files.message).toMatch(
      /^far end ssh:\/\/h: 1000000000 sessions need about 1000000064 open files but RLIMIT_NOFILE's hard limit is \d+: raise RLIMIT_NOFILE's hard limit/,
    )
    await expect(requirePrereqs('far:server', {sessions: 10, host: far})).resolves.toBeUndefined()
    await expect(requirePrereqs(['netDevice'], {device: 'lo', host: far})).resolves.toBeUndefined()
  })

  it("refuses to ask a far end about this machine's own pieces (the addon, a guest kernel)", async () => {
    const [a] = await far.answer([{kind: 'addon'}])
    expect(a).toEqual({ok: false, why: "addon is this machine's, not asked of a far end"})
  })
})
