// The guest agent's ETHTOOL ops on a real multiqueue device: a veth in a throwaway namespace,
// the agent run inside it over --stdio (as it runs inside a guest), the counts checked against
// the addon's own ETHTOOL_GCHANNELS and against sysfs.
import {afterAll, beforeAll, expect, it} from 'vitest'
import {ifctl} from '../../src/native.js'
import {StdioAgent} from '../helpers/agent.js'
import {createNetPair, leftovers, type NetPair} from '../helpers/netpair.js'
import {describeNet} from '../helpers/privileges.js'

describeNet('agent channels on a veth', () => {
  let pair: NetPair
  let agent: StdioAgent

  beforeAll(() => {
    pair = createNetPair(4)
    agent = new StdioAgent(['ip', 'netns', 'exec', pair.nsA])
  })

  afterAll(async () => {
    await agent?.close()
    pair?.close()
    expect(leftovers(pair.tag)).toEqual([])
  })

  const queues = async (kind: 'rx' | 'tx') => {
    const r = await agent.call('list_dir', {path: `/sys/class/net/${pair.devA}/queues`})
    return (r.entries as Array<{name: string}>).filter((e) => e.name.startsWith(`${kind}-`)).length
  }

  it('reads the channel counts the kernel reports', async () => {
    const r = await agent.call('channels_get', {dev: pair.devA})
    expect(r).toEqual(ifctl.getChannels(pair.devA, pair.nsA))
    expect(r).toMatchObject({maxRx: 4, maxTx: 4, rx: 4, tx: 4})
  })

  it('changes them and returns the read-back, which sysfs agrees with', async () => {
    expect(await agent.call('channels_set', {dev: pair.devA, rx: 1, tx: 2})).toMatchObject({rx: 1, tx: 2})
    expect(ifctl.getChannels(pair.devA, pair.nsA)).toMatchObject({rx: 1, tx: 2})
    expect(await queues('rx')).toBe(1)
    expect(await queues('tx')).toBe(2)
    expect(await agent.call('channels_set', {dev: pair.devA, rx: 4, tx: 4})).toMatchObject({rx: 4, tx: 4})
    expect(await queues('rx')).toBe(4)
  })

  it('names the device and the errno when the kernel refuses', async () => {
    const over = await agent.request('channels_set', {dev: pair.devA, rx: 9})
    expect(over).toMatchObject({ok: false, errno: 22})
    expect(over.error).toContain(`ETHTOOL_SCHANNELS on ${pair.devA}`)
    const none = await agent.request('channels_get', {dev: 'mqbnosuchdev'})
    expect(none).toMatchObject({ok: false, errno: 19})
    expect((await agent.request('channels_set', {dev: pair.devA})).error).toBe('give combined, rx or tx')
    expect(ifctl.getChannels(pair.devA, pair.nsA)).toMatchObject({rx: 4, tx: 4})
  })
})
