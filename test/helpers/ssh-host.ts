// A throwaway "other host" on this machine for the SSH far-end tests (docs/hosts.md): a network
// namespace with its own address in 198.18.0.0/15, joined to this namespace by a veth, run with
// its own mount and PID namespaces (private tmpfs over /tmp and /run, its own /proc), and Debian's
// sshd started in it with a config, host key, client key and known_hosts written here. The client
// side uses its own ssh config (MQBENCH_SSH_CONFIG), never root's ~/.ssh.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {uniqueTag} from './netpair.js'

export interface SshTestHost {
  tag: string
  ns: string
  /** this side's end of the veth, and the host's */
  devHere: string
  devThere: string
  ipHere: string
  ip: string
  /** an address on the same link that nobody holds: unreachable, and no traffic leaves the link */
  ipNobody: string
  url: string
  /** the directory holding keys and configs (outside /tmp and /run, which the host covers) */
  dir: string
  /** env for mqbench: MQBENCH_SSH_CONFIG pointing at the test's own client config */
  env: Record<string, string>
  /** runs `sh -c cmd` inside the host (its mount, PID and network namespaces) */
  sh(cmd: string): {status: number | null; stdout: string; stderr: string}
  /** agent processes and mqbench-agent.* directories on the host */
  leftovers(): string[]
  killSshd(): void
  startSshd(): void
  killAgent(): void
  deleteLink(): void
  close(): void
}

export const SSHD = '/usr/sbin/sshd'
export const sshdMissing = existsSync(SSHD)
  ? undefined
  : `${SSHD} is missing (apt-get install openssh-server)`

function ok(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, {encoding: 'utf8'})
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`)
  return r.stdout
}

export async function createSshHost(): Promise<SshTestHost> {
  const tag = uniqueTag()
  const ns = `mqb-t${tag}-h`
  const devHere = `mqb${tag}s`
  const devThere = `mqb${tag}h`
  const octet = parseInt(tag.slice(0, 2), 16)
  const ipHere = `198.19.${octet}.1`
  const ip = `198.19.${octet}.2`
  const ipNobody = `198.19.${octet}.3`
  const dir = mkdtempSync(`/var/tmp/mqb-t${tag}-ssh-`)
  let init: ChildProcess | undefined
  let initPid = 0
  const close = () => {
    if (initPid) spawnSync('kill', ['-KILL', String(initPid)])
    if (init?.pid) spawnSync('kill', ['-KILL', String(init.pid)])
    spawnSync('ip', ['link', 'del', devHere])
    spawnSync('ip', ['netns', 'del', ns])
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    ok('ip', ['netns', 'add', ns])
    ok('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    // two queues each way: a dev:IF scale sweeps this end's channels
    const q = ['numtxqueues', '2', 'numrxqueues', '2']
    ok('ip', ['link', 'add', devHere, ...q, 'type', 'veth', 'peer', 'name', devThere, ...q, 'netns', ns])
    ok('ip', ['addr', 'add', `${ipHere}/29`, 'dev', devHere])
    ok('ip', ['link', 'set', devHere, 'up'])
    ok('ip', ['-n', ns, 'addr', 'add', `${ip}/29`, 'dev', devThere])
    ok('ip', ['-n', ns, 'link', 'set', devThere, 'up'])
    for (const k of ['host_key', 'id'])
      ok('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', join(dir, k)])
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id.pub')))
    const hostPub = readFileSync(join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ')
    writeFileSync(join(dir, 'known_hosts'), `${ip} ${hostPub}\n`)
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `ListenAddress ${ip}`,
        `HostKey ${dir}/host_key`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PidFile /run/sshd.pid',
        // No ClientAliveInterval (sshd's default): a host whose link vanished then never ends the
        // session itself, and only the agent's idle watchdog cleans up, as on most real hosts.
        '',
      ].join('\n'),
    )
    writeFileSync(
      join(dir, 'ssh_config'),
      [
        'Host *',
        '  User root',
        `  IdentityFile ${dir}/id`,
        '  IdentitiesOnly yes',
        '  IdentityAgent none',
        `  UserKnownHostsFile ${dir}/known_hosts`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '',
      ].join('\n'),
    )
    // sh is the PID namespace's init once sshd has daemonized; `exec sleep` keeps it alive.
    const script = [
      'mount -t tmpfs -o mode=1777 tmpfs /tmp',
      'mount -t tmpfs -o mode=755 tmpfs /run',
      'mkdir -p /run/sshd',
      `${SSHD} -f ${dir}/sshd_config -E ${dir}/sshd.log`,
      'echo ready',
      'exec sleep 100000',
    ].join(' && ')
    init = spawn(
      'ip',
      ['netns', 'exec', ns, 'unshare', '--mount', '--pid', '--fork', '--mount-proc', 'sh', '-c', script],
      {stdio: ['ignore', 'pipe', 'pipe'], detached: true},
    )
    init.unref()
    await new Promise<void>((resolve, reject) => {
      let out = ''
      let err = ''
      init!.stdout!.on('data', (b) => {
        out += b
        if (out.includes('ready')) resolve()
      })
      init!.stderr!.on('data', (b) => (err += b))
      init!.on('close', (code) =>
        reject(new Error(`the test host's sshd did not start (${code}): ${err.trim()}`)),
      )
      setTimeout(
        () => reject(new Error(`the test host's sshd did not start within 10 s: ${err.trim()}`)),
        10_000,
      )
    })
    initPid = Number(
      ok('pgrep', ['-P', String(init.pid)])
        .trim()
        .split('\n')[0],
    )
  } catch (err) {
    close()
    throw err
  }
  const inHost = (argv: string[]) => {
    const r = spawnSync('nsenter', ['-t', String(initPid), '-m', '-p', '-n', '--', ...argv], {
      encoding: 'utf8',
    })
    return {status: r.status, stdout: r.stdout, stderr: r.stderr}
  }
  const sh = (cmd: string) => inHost(['sh', '-c', cmd])
  return {
    tag,
    ns,
    devHere,
    devThere,
    ipHere,
    ip,
    ipNobody,
    url: `ssh://root@${ip}`,
    dir,
    env: {MQBENCH_SSH_CONFIG: join(dir, 'ssh_config')},
    sh,
    leftovers() {
      // ps without a shell around it: the only command lines naming the agent are ours
      const procs = inHost(['ps', '-eo', 'pid=,args='])
        .stdout.split('\n')
        .filter((l) => l.includes('mqbench-agent'))
      const dirs = inHost(['ls', '-a', '/tmp'])
        .stdout.split('\n')
        .filter((l) => l.startsWith('mqbench-agent'))
      return [...procs.map((l) => `process ${l.trim()}`), ...dirs.map((d) => `/tmp/${d}`)]
    },
    killSshd() {
      inHost(['pkill', '-KILL', '-x', 'sshd'])
    },
    startSshd() {
      const r = inHost([SSHD, '-f', `${dir}/sshd_config`, '-E', `${dir}/sshd.log`])
      if (r.status !== 0) throw new Error(`sshd did not start again: ${r.stderr.trim()}`)
    },
    killAgent() {
      inHost(['pkill', '-KILL', '-x', 'mqbench-agent'])
    },
    deleteLink() {
      spawnSync('ip', ['link', 'del', devHere])
    },
    close,
  }
}
