// The guest agent (native/agent/) over --stdio: every op that needs no privileges, the framing
// rules of docs/agent.md, and a fuzz run that must end with the agent still answering.
import {mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {frame, StdioAgent} from '../helpers/agent.js'

let agent: StdioAgent
let dir: string

beforeAll(() => {
  agent = new StdioAgent()
  dir = mkdtempSync(join(tmpdir(), 'mqb-agent-test-'))
})

afterAll(async () => {
  expect(await agent.close()).toBe(0)
  rmSync(dir, {recursive: true, force: true})
})

/** Running (a killed orphan may stay a zombie until its new parent reaps it). */
const running = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

describe('agent ops', () => {
  it('hello names the agent, its protocol, kernel, CPUs, build and ops', async () => {
    const r = await agent.call('hello')
    expect(r).toMatchObject({agent: 'mqbench-agent', protocol: 1, cpus: availableParallelism()})
    expect(r.kernel).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim())
    expect(r.build).toMatch(/^[0-9a-f]{16}$/)
    expect(r.ops).toEqual(expect.arrayContaining(['hello', 'channels_get', 'read_file', 'list_dir', 'exec']))
  })

  it('reads text files as utf8 and other bytes as base64, up to maxBytes', async () => {
    writeFileSync(join(dir, 'text'), 'héllo\n')
    expect(await agent.call('read_file', {path: join(dir, 'text')})).toEqual({
      bytes: 7,
      truncated: false,
      encoding: 'utf8',
      data: 'héllo\n',
    })
    const bin = Buffer.from([0, 1, 0xff, 0xfe, 0x80, 10])
    writeFileSync(join(dir, 'bin'), bin)
    const r = await agent.call('read_file', {path: join(dir, 'bin')})
    expect(r.encoding).toBe('base64')
    expect(Buffer.from(r.data as string, 'base64')).toEqual(bin)
    expect(await agent.call('read_file', {path: join(dir, 'text'), maxBytes: 3})).toMatchObject({
      bytes: 3,
      truncated: true,
    })
    // /proc files report size 0 and are read to their end
    const stat = await agent.call('read_file', {path: '/proc/self/status'})
    expect(stat.data).toMatch(/^Name:\s+mqbench-agent/m)
  })

  it('names the path and errno of a file it cannot read', async () => {
    const r = await agent.request('read_file', {path: join(dir, 'missing')})
    expect(r).toMatchObject({ok: false, errno: 2})
    expect(r.error).toContain(join(dir, 'missing'))
    expect((await agent.request('read_file', {path: 7})).error).toBe('path must be a string')
    expect((await agent.request('read_file', {path: '/x', maxBytes: 1e9})).error).toMatch(
      /maxBytes 1000000000 is out of range 1\.\.524288/,
    )
  })

  it('writes files in one call, replacing, appending or from base64', async () => {
    const p = join(dir, 'w')
    expect(await agent.call('write_file', {path: p, data: 'abc'})).toEqual({bytes: 3})
    await agent.call('write_file', {path: p, data: 'de', append: true})
    expect(readFileSync(p, 'utf8')).toBe('abcde')
    await agent.call('write_file', {
      path: p,
      data: Buffer.from([0xff, 0]).toString('base64'),
      encoding: 'base64',
    })
    expect(readFileSync(p)).toEqual(Buffer.from([0xff, 0]))
    expect((await agent.request('write_file', {path: p, data: '@@@', encoding: 'base64'})).error).toMatch(
      /base64/,
    )
    expect((await agent.request('write_file', {path: join(dir, 'no/such/dir'), data: ''})).errno).toBe(2)
  })

  it('lists a directory sorted, with entry types', async () => {
    const d = join(dir, 'list')
    mkdirSync(d)
    writeFileSync(join(d, 'b'), '')
    mkdirSync(join(d, 'a'))
    symlinkSync('b', join(d, 'c'))
    expect(await agent.call('list_dir', {path: d})).toEqual({
      entries: [
        {name: 'a', type: 'dir'},
        {name: 'b', type: 'file'},
        {name: 'c', type: 'link'},
      ],
      truncated: false,
    })
    expect((await agent.request('list_dir', {path: join(dir, 'none')})).errno).toBe(2)
  })

  it('runs a command with its status and output', async () => {
    expect(await agent.call('exec', {argv: ['sh', '-c', 'echo out; echo err >&2; exit 3']})).toEqual({
      status: 3,
      signal: 0,
      timedOut: false,
      stdout: 'out\n',
      stderr: 'err\n',
      truncated: false,
    })
    // output that is not UTF-8 arrives with U+FFFD in place of the bad bytes, controls escaped
    const odd = await agent.call('exec', {argv: ['printf', 'a\\377b\\001\\n']})
    expect(odd.stdout).toBe('a\ufffdb\u0001\n')
    const r = await agent.request('exec', {argv: ['mqb-no-such-program']})
    expect(r).toMatchObject({ok: false, errno: 2, error: expect.stringContaining('mqb-no-such-program')})
  })

  it('kills a command and its children at the timeout', async () => {
    const r = await agent.call('exec', {argv: ['sh', '-c', 'sleep 30 & echo $!; sleep 30'], timeoutMs: 300})
    expect(r).toMatchObject({timedOut: true, signal: 9, status: 137})
    const child = Number((r.stdout as string).trim())
    expect(child).toBeGreaterThan(0)
    await new Promise((res) => setTimeout(res, 100))
    expect(running(child)).toBe(false)
  })

  it('caps command output and says so', async () => {
    const r = await agent.call('exec', {argv: ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x']})
    expect(r).toMatchObject({status: 0, truncated: true})
    expect((r.stdout as string).length).toBe(128 * 1024)
  })

  it('answers a quick request while a slow one runs', async () => {
    const slow = agent.request('exec', {argv: ['sleep', '1']})
    const quick = agent.request('hello')
    const [s, q] = await Promise.all([slow, quick])
    expect(s.ok && q.ok).toBe(true)
    expect(s.id).toBeLessThan(q.id)
    expect(agent.responses.indexOf(q)).toBeLessThan(agent.responses.indexOf(s))
  })
})

describe('agent framing', () => {
  const raw = (o: unknown) => frame(JSON.stringify(o))
  const next = async (bytes: Buffer) => {
    const before = agent.responses.length
    agent.write(bytes)
    await agent.waitFor((rs) => rs.length > before)
    return agent.responses[before]
  }

  it.each([
    ['not JSON', frame('{"v":1,'), 0, /^not JSON/],
    ['an empty frame', frame(''), 0, /^not JSON/],
    ['not an object', raw([1, 2]), 0, 'not a JSON object'],
    ['no id', raw({v: 1, op: 'hello'}), 0, 'id must be an unsigned integer'],
    ['a negative id', raw({v: 1, id: -1, op: 'hello'}), 0, 'id must be an unsigned integer'],
    ['no version', raw({id: 901, op: 'hello'}), 901, /^v is missing/],
    ['another version', raw({v: 2, id: 902, op: 'hello'}), 902, /the agent speaks 1, the host 2/],
    ['no op', raw({v: 1, id: 903}), 903, 'op is missing'],
    ['an unknown op', raw({v: 1, id: 904, op: 'reboot_now'}), 904, 'unknown op "reboot_now"'],
    ['invalid UTF-8', frame(Buffer.from([0x22, 0xff, 0x22])), 0, /^not JSON: invalid UTF-8/],
    ['deep nesting', frame('['.repeat(100_000) + ']'.repeat(100_000)), 0, /^not JSON: nested too deeply/],
  ])('answers %s with an error', async (_, bytes, id, error) => {
    const r = await next(bytes)
    expect(r).toMatchObject({v: 1, id, ok: false})
    if (typeof error === 'string') expect(r.error).toBe(error)
    else expect(r.error).toMatch(error)
  })

  it('skips an oversized frame as it arrives and stays in step', async () => {
    const n = (1 << 20) + 1
    const head = Buffer.alloc(4)
    head.writeUInt32BE(n)
    const r = await next(head)
    expect(r).toMatchObject({id: 0, ok: false, errno: 90})
    expect(r.error).toMatch(/frame of 1048577 bytes is longer than the limit/)
    agent.write(Buffer.alloc(n - 10, 0x7b))
    agent.write(Buffer.concat([Buffer.alloc(10, 0x7b), raw({v: 1, id: 905, op: 'hello'})]))
    await agent.waitFor((rs) => rs.some((x) => x.id === 905 && x.ok))
  })

  it('accepts a frame of exactly the limit', async () => {
    const pad = 'x'.repeat((1 << 20) - 60)
    const body = JSON.stringify({v: 1, id: 906, op: 'hello', pad})
    const r = await next(frame(body.padEnd(1 << 20, ' ')))
    expect(r).toMatchObject({id: 906, ok: true})
  })

  it('answers a retried id from its cache without running it again', async () => {
    const p = join(dir, 'retry')
    const req = raw({v: 1, id: 907, op: 'write_file', path: p, data: 'a', append: true})
    const first = await next(req)
    const again = await next(req)
    expect(again).toEqual(first)
    expect(readFileSync(p, 'utf8')).toBe('a')
    // the same id with other bytes is a new request (a new client counting from 1 again)
    const other = await next(raw({v: 1, id: 907, op: 'write_file', path: p, data: 'b', append: true}))
    expect(other).toMatchObject({id: 907, ok: true})
    expect(readFileSync(p, 'utf8')).toBe('ab')
  })
})

// Random and hostile frames: every frame is answered exactly once and the agent keeps going.
describe('agent fuzz', () => {
  function prng(seed: number) {
    return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32
  }

  it('answers 3000 random frames, one response each, and still works', async () => {
    const rnd = prng(12)
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]
    const junk = (n: number) => Buffer.from(Array.from({length: n}, () => Math.floor(rnd() * 256)))
    const values = () =>
      pick<unknown>([null, true, -1, 0, 1.5, 2 ** 60, 'x', '', '/proc/self/stat', dir, [], {}, ['sh'], 'lo'])
    const ops = [
      'hello',
      'read_file',
      'list_dir',
      'channels_get',
      'channels_set',
      'bogus',
      'exec',
      'write_file',
    ]
    const before = agent.responses.length
    let sent = 0
    let id = 10_000
    const chunks: Buffer[] = []
    for (let i = 0; i < 3000; i++) {
      let body: Buffer
      switch (i % 6) {
        case 0:
          body = junk(Math.floor(rnd() * 300))
          break
        case 1: {
          const s = JSON.stringify({v: 1, id: id++, op: pick(ops), path: values(), dev: values()})
          body = Buffer.from(s.slice(0, Math.floor(rnd() * s.length)))
          break
        }
        case 2: {
          // Random argument types for every op; exec only ever gets a harmless argv.
          const op = pick(ops)
          const args: Record<string, unknown> = {
            path: op === 'write_file' ? join(dir, `fuzz-${i % 7}`) : values(),
            maxBytes: values(),
            dev: values(),
            combined: values(),
            data: values(),
            encoding: pick(['utf8', 'base64', 'x', 3]),
            argv: pick([['true'], [], 'true', [1], null]),
            timeoutMs: values(),
          }
          body = Buffer.from(JSON.stringify({v: pick([1, 1, 1, 0, '1']), id: id++, op, ...args}))
          break
        }
        case 3:
          body = Buffer.from(JSON.stringify(pick([[], 'x', 7, null, {id: -5}, {id: 'a', v: 1}])))
          break
        case 4: {
          // valid JSON with a hostile shape: long strings, deep nesting, escapes
          const shapes = [
            '{"v":1,"id":' + id++ + ',"op":"' + '\\u0000'.repeat(50) + '"}',
            '{"v":1,"id":' + id++ + ',"op":"hello","x":' + '['.repeat(300) + ']'.repeat(300) + '}',
            '{"v":1,"id":' + id++ + ',"op":"\\ud800"}',
            '{"v":1,"id":' + id++ + ',"op":"hello","n":1e99999}',
            '{"v":1,"id":' + id++ + ',"op":"hello","v":1,"v":2}',
          ]
          body = Buffer.from(pick(shapes))
          break
        }
        default:
          body = Buffer.from(JSON.stringify({v: 1, id: id++, op: 'hello'}))
      }
      chunks.push(frame(body))
      sent++
    }
    // Written in random cuts, so frames straddle reads.
    const all = Buffer.concat(chunks)
    for (let off = 0; off < all.length;) {
      const n = 1 + Math.floor(rnd() * 5000)
      agent.write(all.subarray(off, off + n))
      off += n
    }
    await agent.waitFor((rs) => rs.length >= before + sent, 60_000)
    await new Promise((res) => setTimeout(res, 200))
    expect(agent.responses.length - before).toBe(sent)
    expect(agent.responses.slice(before).every((r) => r.v === 1 && typeof r.ok === 'boolean')).toBe(true)
    expect((await agent.request('hello')).ok).toBe(true)
  })
})
