// One home per limit: the flags, plans, protocol and server take their bounds from src/limits.ts,
// and native/ enforces the same numbers on its side. These checks fail when either side moves
// alone.
import {describe, expect, it} from 'vitest'
import {parseQueueList} from '../../src/cli/parse.js'
import {buildPlan} from '../../src/gen/plan.js'
import {KIND_MAX_QUEUES, LIMITS} from '../../src/limits.js'
import {agentBinary, frames, gen, nativeLimits} from '../../src/native.js'
import {AgentClient, processChannel} from '../../src/vm/agent-client.js'
import {AGENT_FRAME_LIMIT} from '../../src/vm/framing.js'
import {planScale} from '../../src/scale/plan.js'
import {serverMessageReader} from '../../src/sessions/protocol.js'
import {checkRrOptions} from '../../src/sessions/rr.js'
import {FRAME_V4} from '../helpers/frames.js'

const frame = FRAME_V4
const genOpts = (over: {queues?: number; flowsPerQueue?: number; burst?: number}) => ({
  ...frame,
  tap: true,
  flowsPerQueue: over.flowsPerQueue ?? 1,
  burst: over.burst ?? 1,
  durationMs: 1,
  queues: Array.from({length: over.queues ?? 1}, () => ({
    cpu: -1,
    ratePps: 0,
    count: 0,
    srcPort: 1024,
    tapFd: -1,
  })),
})
const refusal = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    return (err as Error).message
  }
  return 'accepted'
}

describe('limits', () => {
  it("native's own home (native/mqb_limits.h) holds the same figures as LIMITS", () => {
    expect(nativeLimits()).toEqual({
      maxQueues: LIMITS.maxQueues,
      maxFlowsPerQueue: LIMITS.maxFlowsPerQueue,
      maxGenBurst: LIMITS.maxGenBurst,
      maxFrameBytes: LIMITS.maxFrameBytes,
      maxAgentFrameBytes: LIMITS.maxAgentFrameBytes,
    })
    expect(AGENT_FRAME_LIMIT).toBe(LIMITS.maxAgentFrameBytes)
  })

  it('native refuses one above the queue, flow and burst limits, naming the same figure', () => {
    expect(refusal(() => gen.startGen(genOpts({queues: LIMITS.maxQueues + 1})))).toMatch(
      new RegExp(`queues must be an array of 1 to ${LIMITS.maxQueues} objects`),
    )
    expect(refusal(() => gen.startGen(genOpts({flowsPerQueue: LIMITS.maxFlowsPerQueue + 1})))).toMatch(
      new RegExp(
        `flowsPerQueue ${LIMITS.maxFlowsPerQueue + 1} is out of range 1\\.\\.${LIMITS.maxFlowsPerQueue}$`,
      ),
    )
    expect(refusal(() => gen.startGen(genOpts({burst: LIMITS.maxGenBurst + 1})))).toMatch(
      new RegExp(`burst ${LIMITS.maxGenBurst + 1} is out of range 1\\.\\.${LIMITS.maxGenBurst}$`),
    )
    expect(refusal(() => gen.startRx({tapFds: [], queues: LIMITS.maxQueues + 1, flowsPerQueue: 1}))).toMatch(
      new RegExp(`1-${LIMITS.maxQueues} queues`),
    )
  })

  // One parser (native/gen_config.cc) over the addon's options and the agent's gen_start request.
  it('the addon and the agent refuse the same generator options with the same words', async () => {
    const agent = new AgentClient('stdio', {open: processChannel([agentBinary(), '--stdio'])})
    try {
      for (const over of [
        {flowsPerQueue: LIMITS.maxFlowsPerQueue + 1},
        {burst: LIMITS.maxGenBurst + 1},
        {frameSize: LIMITS.maxFrameBytes + 1},
        {queues: LIMITS.maxQueues + 1},
      ]) {
        const {tap: _tap, ...opts} = {
          ...genOpts(over),
          ...('frameSize' in over ? {frameSize: over.frameSize} : {}),
          dev: 'eth0',
        }
        const queues = opts.queues.map(({tapFd: _fd, ...q}) => q)
        const guest = await agent.genStart({...opts, queues}).then(
          () => 'accepted',
          (err: Error) => err.message.replace(/^guest agent gen_start: /, ''),
        )
        expect(refusal(() => gen.startGen({...genOpts(over), ...over, queues: genOpts(over).queues}))).toBe(
          `option ${guest.replace('a list', 'an array')}`,
        )
      }
    } finally {
      agent.close()
    }
  })

  it('native builds the largest frame and refuses one byte more', () => {
    const at = {
      ...frame,
      frameSize: LIMITS.maxFrameBytes,
      queue: 0,
      flow: 0,
      srcPort: 1024,
      seq: 0,
      timeNs: 0n,
    }
    expect(frames.build(at).length).toBe(LIMITS.maxFrameBytes)
    expect(refusal(() => frames.build({...at, frameSize: LIMITS.maxFrameBytes + 1}))).toMatch(
      new RegExp(`frameSize ${LIMITS.maxFrameBytes + 1} is out of range 1\\.\\.${LIMITS.maxFrameBytes}$`),
    )
  })

  it('the TypeScript checks stop at the same figures', () => {
    expect(parseQueueList(`${LIMITS.maxQueues}`)).toEqual([LIMITS.maxQueues])
    expect(refusal(() => parseQueueList(`${LIMITS.maxQueues + 1}`))).toMatch(/above the maximum of 256/)
    const plan = {queues: 1, frameSize: 60, flowsPerQueue: 1}
    const env = {onlineCpus: [0]}
    expect(refusal(() => buildPlan({...plan, queues: LIMITS.maxQueues + 1}, env))).toMatch(/1 to 256/)
    expect(refusal(() => buildPlan({...plan, frameSize: LIMITS.maxFrameBytes + 1}, env))).toMatch(
      /to 9000 bytes/,
    )
    const rr = {server: '127.0.0.1', port: 1, type: 'tcp_rr' as const, requestSize: 1, responseSize: 1}
    expect(
      refusal(() => checkRrOptions({...rr, sessions: LIMITS.maxSessions + 1, durationMs: 1000})),
    ).toMatch(/expected 1\.\.100000/)
    const welcome = (maxSessions: number) =>
      JSON.stringify({type: 'welcome', version: 2, caps: [], limits: {maxSessions, maxDurationMs: 1000}})
    expect(serverMessageReader().push(welcome(LIMITS.maxSessions))).toMatchObject({
      limits: {maxSessions: LIMITS.maxSessions},
    })
    expect(refusal(() => serverMessageReader().push(welcome(LIMITS.maxSessions + 1)))).not.toBe('accepted')
  })

  it("a scale plan stops at each testbed kind's maximum", () => {
    const flags = {
      testbed: {kind: 'veth' as const},
      workload: 'rr' as const,
      sessions: 1,
      durationMs: 1000,
      warmupMs: 0,
      iterations: 1,
    }
    expect(
      refusal(() => planScale({...flags, queues: [KIND_MAX_QUEUES.veth + 1]}, {testbedName: 'x'})),
    ).toMatch(/above the maximum of 128 for the veth testbed/)
  })
})
