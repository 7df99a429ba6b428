// The SSH far end's transport without SSH: the same remote script run by a local sh (no
// privileges), the URL and argument rules, the skew and exit descriptions, and the far host's
// prerequisites as pure functions. test/integration/hosts-ssh.test.ts runs it through a real sshd.
import {spawn, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {
  describeExit,
  FarHost,
  fnv1a64,
  parseSshUrl,
  remoteScript,
  skew,
  sshArgs,
  type SshTarget,
} from '../../src/hosts/ssh.js'
import {farShortfalls, parseCapEff, parseOpenFiles, parsePortRange} from '../../src/hosts/prereqs.js'
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
const agentDirs = () => spawnSync('ls', [tmp], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean)

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
      expect(host.hello.mode).toBe('host')
      expect(host.address).toBe('198.19.0.2')
      expect(host.hello.build).toBe(fnv1a64(readFileSync(agentBinary())))
      expect(host.hello.dir).toMatch(new RegExp(`^${tmp}/mqbench-agent\\.`))
      expect(existsSync(`${host.hello.dir}/mqbench-agent`)).toBe(true)
      await expect(host.request('exec', {argv: ['true']})).rejects.toThrow(
        'far agent exec: exec of true is refused in host mode: this agent runs on a real host, not in a guest: Operation not permitted',
      )
    } finally {
      await host.close()
    }
    expect(agentDirs()).toEqual([])
  })

  it('names the agent killed under it, when and why, and the script still removes its directory', async () => {
    const host = await FarHost.open('ssh://h', {transport: localSh})
    const failed = new Promise((r) => host.onFailure(r))
    process.kill(host.hello.pid, 'SIGKILL')
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
    const r = spawnSync('sh', ['-c', remoteScript(), 'mqbench-agent', String(bin.length), wrong], {
      input: bin,
      env: {...process.env, TMPDIR: tmp},
      encoding: 'utf8',
    })
    expect(r.status).toBe(97)
    expect(r.stderr).toMatch(/^the copied agent has SHA-256 [0-9a-f]{64}, not [0-9a-f]{64}\n$/)
    expect(agentDirs()).toEqual([])
  })

  it('the agent stops by itself when the host stays silent past --idle (a vanished link)', async () => {
    const bin = readFileSync(agentBinary())
    const sha = createHash('sha256').update(bin).digest('hex')
    const script = remoteScript(300)
    const p = spawn('sh', ['-c', script, 'mqbench-agent', String(bin.length), sha], {
      env: {...process.env, TMPDIR: tmp},
    })
    let err = ''
    p.stderr.on('data', (b) => (err += b))
    p.stdin.write(bin) // and never a request, nor the end of the input
    const code = await new Promise((r) => p.on('close', r))
    p.stdin.destroy()
    expect(code).toBe(0)
    expect(err).toMatch(/no request from the host for 300 ms; stopping/)
    expect(agentDirs()).toEqual([])
  })
})

describe('far-host prerequisites', () => {
  const limits =
    'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n'
  const facts = {
    openFiles: parseOpenFiles(limits)!,
    capEff: parseCapEff('Name:\tx\nCapEff:\t0000000000001000\n')!,
    portRange: parsePortRange('32768\t60999\n')!,
    missingDevices: ['eth9'],
  }
  it('parses /proc', () => {
    expect(facts.openFiles).toEqual({soft: 1024, hard: 4096})
    expect(facts.capEff).toBe(1n << 12n)
    expect(facts.portRange).toEqual({low: 32768, high: 60999})
    expect(parseOpenFiles('Max open files  unlimited unlimited files')!.hard).toBe(Number.MAX_SAFE_INTEGER)
  })
  it('names every shortfall, and none when the host has what is needed', () => {
    expect(
      farShortfalls(
        {...facts, missingDevices: []},
        {serverSessions: 4000, capabilities: [{bit: 12, name: 'CAP_NET_ADMIN'}], localPorts: 28232},
      ),
    ).toEqual([])
    expect(
      farShortfalls(facts, {
        serverSessions: 4033,
        capabilities: [{bit: 13, name: 'CAP_NET_RAW'}],
        localPorts: 28233,
      }),
    ).toEqual([
      "4033 sessions need about 4097 open files but RLIMIT_NOFILE's hard limit there is 4096 (raise it in sshd's limits or run fewer sessions)",
      'the SSH user has no CAP_NET_RAW there (log in as root)',
      'no network device eth9 there',
      '28233 local ports are needed but net.ipv4.ip_local_port_range there (32768-60999) offers 28232',
    ])
  })
})
