// stream against an in-process server on a veth pair between two throwaway namespaces.
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runStream, startServer, type ServerHandle} from '../../src/sessions/index.js'
import {createNetPair, leftovers, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

describeNet('sessions: stream on a veth pair', () => {
  let p: NetPair
  let server: ServerHandle
  const token = 'integration-token'
  const base = () => ({
    server: p.ipB,
    port: server.port,
    netns: p.nsA,
    token,
    messageSize: 16384,
    durationMs: 1200,
  })

  beforeAll(async () => {
    p = createNetPair(2)
    server = await startServer({netns: p.nsB, bind: p.ipB, port: 0, token})
  })
  afterAll(async () => {
    await server?.close()
    p?.close()
    expect(leftovers(p.tag)).toEqual([])
  })

  it.each([1, 4])('moves data on %i TCP stream session(s), the total being their sum', async (sessions) => {
    const r = await runStream({...base(), type: 'tcp_stream', sessions})
    expect(r.sessions).toHaveLength(sessions)
    for (const s of r.sessions) {
      expect(s.direction).toBe('send')
      expect(s.bytes).toBeGreaterThan(0)
      expect(s.retransmits).toBeGreaterThanOrEqual(0)
    }
    expect(r.gbps).toBeCloseTo(
      r.sessions.reduce((a, s) => a + s.gbps, 0),
      9,
    )
    expect(r.serviceDemandUsPerKB.local).toBeGreaterThan(0)
    expect(r.serviceDemandUsPerKB.remote).toBeGreaterThan(0)
  })

  it('receives with TCP_MAERTS and goes both ways with --bidir', async () => {
    const m = await runStream({...base(), type: 'tcp_maerts', sessions: 2})
    expect(m.sessions.every((s) => s.direction === 'receive' && s.bytes > 0)).toBe(true)
    const b = await runStream({...base(), type: 'tcp_stream', bidir: true, sessions: 2})
    expect(b.sessions.map((s) => s.direction)).toEqual(['send', 'send', 'receive', 'receive'])
    expect(b.sessions.every((s) => s.bytes > 0)).toBe(true)
  })

  it('counts UDP datagrams and those the server did not see', async () => {
    const r = await runStream({...base(), type: 'udp_stream', sessions: 2, messageSize: 1400})
    for (const s of r.sessions) {
      expect(s.datagrams).toBeGreaterThan(0)
      expect(s.lostDatagrams).toBeGreaterThanOrEqual(0)
      expect(s.lostDatagrams).toBeLessThanOrEqual(s.datagrams!)
      // issue 10 case 6: received over the window both ends counted, never more than was sent in it
      expect(s.receivedBytes).toBeGreaterThan(0)
      expect(s.receivedBytes).toBeLessThanOrEqual(s.bytes)
      expect(s.gbps).toBeLessThanOrEqual(s.sentGbps!)
      expect(s.datagrams! - s.lostDatagrams!).toBe(Math.round(s.receivedBytes! / 1400))
    }
    expect(r.receivedOver).toBe('window')
    expect(r.gbps).toBeCloseTo(
      r.sessions.reduce((a, s) => a + s.gbps, 0),
      9,
    )
    expect(r.lossPct).toBeGreaterThanOrEqual(0)
    await expect(runStream({...base(), type: 'udp_stream', sessions: 1, messageSize: 4})).rejects.toThrow(
      /--message-size 4: expected 8..65507/,
    )
  })
})
