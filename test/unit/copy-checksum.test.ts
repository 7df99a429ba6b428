// The checksummed bulk copy of the migration case (native/copy.cc): the addon's sender against the
// agent's receiver (copy_recv_*) over loopback, both sums equal to FNV-1a computed here over the
// content the seed makes; a short connection and a second receiver are refused.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {copy} from '../../src/native.js'
import {copyContent, fnv1a64} from '../helpers/copy.js'
import {StdioAgent} from '../helpers/agent.js'

let agent: StdioAgent
beforeAll(() => {
  agent = new StdioAgent()
})
afterAll(async () => {
  expect(await agent.close()).toBe(0)
})

describe('FNV-1a 64 and the seeded content', () => {
  it('matches the published FNV-1a vectors', () => {
    expect(fnv1a64(Buffer.alloc(0))).toBe('cbf29ce484222325')
    expect(fnv1a64(Buffer.from('a'))).toBe('af63dc4c8601ec8c')
    expect(fnv1a64(Buffer.from('foobar'))).toBe('85944171f73967e8')
  })

  it('makes the same bytes whatever the offsets it is asked in', () => {
    const whole = copyContent(7, 0, 100)
    expect(Buffer.concat([copyContent(7, 0, 13), copyContent(7, 13, 50), copyContent(7, 63, 37)])).toEqual(
      whole,
    )
    expect(copyContent(8, 0, 100)).not.toEqual(whole)
  })
})

describe('copy over TCP, checksummed at both ends', () => {
  it('sends exactly the bytes announced; sender, receiver and this file agree on the sum', async () => {
    const bytes = 3 * 65536 + 12345
    const {port} = await agent.call('copy_recv_start', {bind: '127.0.0.1', port: 0, bytes})
    const h = copy.send({host: '127.0.0.1', port: port as number, bytes, seed: 42})
    const sent = await h.wait()
    const got = await agent.call('copy_recv_stop')
    const expected = fnv1a64(copyContent(42, 0, bytes))
    expect(sent).toMatchObject({bytes, checksum: expected, done: true, connected: true})
    expect(got).toMatchObject({bytes, expected: bytes, checksum: expected, done: true, failed: false})
  })

  it('paces to a rate', async () => {
    const bytes = 400_000
    const {port} = await agent.call('copy_recv_start', {bind: '127.0.0.1', port: 0, bytes})
    const h = copy.send({host: '127.0.0.1', port: port as number, bytes, seed: 1, rateBytesPerSec: 2_000_000})
    const s = await h.wait()
    await agent.call('copy_recv_stop')
    // ~0.2 s at 2 MB/s: a floor only (behaviour, not speed).
    expect((s.endNs - s.startNs) / 1e6).toBeGreaterThan(150)
  })

  it('reports a receiver that got fewer bytes than announced, and refuses a second receiver', async () => {
    const {port} = await agent.call('copy_recv_start', {bind: '127.0.0.1', port: 0, bytes: 1000})
    await expect(agent.call('copy_recv_start', {bind: '127.0.0.1', port: 0, bytes: 10})).rejects.toThrow(
      /copy receiver is running/,
    )
    const h = copy.send({host: '127.0.0.1', port: port as number, bytes: 600, seed: 3})
    await h.wait()
    const got = await agent.call('copy_recv_stop')
    expect(got).toMatchObject({
      bytes: 600,
      failed: true,
      error: 'copy: the connection ended after 600 of 1000 bytes',
    })
  })
})
