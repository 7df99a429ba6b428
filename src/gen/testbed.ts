// `gen --testbed NAME`: the held testbed's sender device, namespace, receiver and addresses, so
// the person does not repeat them. tap and veth: send on A, count at B. dev: send on the device
// (a receiver is the remote host's business). vm: the tap in the host namespace and the guest's
// agent, reached through the holder's relay (src/vm/agent-relay.ts), for either direction.
import {existsSync} from 'node:fs'
import {ExitCode, MqbError} from '../errors.js'
import {linkInfo} from '../host/netns.js'
import {heldTestbed, type TestbedRecord} from '../testbed/registry.js'
import type {Testbed} from '../testbed/types.js'
import {vmNames} from '../testbed/vm.js'
import {AgentClient} from '../vm/agent-client.js'
import {agentRelayPath} from '../vm/agent-relay.js'
import type {GenOptions} from './run.js'
import type {VmGenTarget} from './vm.js'

/** The parts of GenOptions a testbed fills in. */
export type LinkGenTarget = Pick<GenOptions, 'dev' | 'netns' | 'rx' | 'dstMac' | 'srcIp' | 'dstIp'>

export type GenTestbed =
  | {kind: 'link'; name: string; target: LinkGenTarget}
  | {kind: 'vm'; name: string; target: VmGenTarget; close(): void}

type Endpoints = Pick<Testbed, 'kind' | 'nsA' | 'nsB' | 'devA' | 'devB' | 'ipA' | 'ipB'>

/** tap, veth and dev testbeds: A sends; B, when it is in a namespace here, receives. */
export function linkGenTarget(tb: Endpoints): LinkGenTarget {
  if (!tb.nsB) return {dev: tb.devA, netns: tb.nsA || undefined}
  return {
    dev: tb.devA,
    netns: tb.nsA,
    rx: {dev: tb.devB, netns: tb.nsB},
    dstMac: linkInfo(tb.devB, tb.nsB).mac,
    srcIp: tb.ipA,
    dstIp: tb.ipB,
  }
}

/** A vm testbed this process holds: its own agent client. */
export function vmGenTarget(tb: Testbed): VmGenTarget {
  if (!tb.agent || !tb.guest || !tb.genDev)
    throw new MqbError(`testbed ${tb.name} has no guest agent`, ExitCode.unsupported)
  return {
    testbed: tb.name,
    agent: tb.agent,
    netns: tb.nsA,
    tap: tb.genDev,
    bridge: tb.devA,
    guestDev: tb.devB,
    guestMac: tb.guest.mac,
    ipA: tb.ipA,
    ipB: tb.ipB,
  }
}

function heldVmTarget(rec: TestbedRecord): GenTestbed {
  const {tap, dir} = vmNames(rec.name)
  const relay = agentRelayPath(dir)
  if (!rec.guest || !existsSync(relay))
    throw new MqbError(
      `testbed ${rec.name}'s holder offers no agent relay (${relay}); hold it again with this mqbench's \`mqbench testbed up ${rec.name} --kind vm\``,
      ExitCode.unsupported,
    )
  const agent = new AgentClient(relay, {connectTimeoutMs: 5000})
  return {
    kind: 'vm',
    name: rec.name,
    target: {
      testbed: rec.name,
      agent,
      netns: rec.nsA,
      tap,
      bridge: rec.devA,
      guestDev: rec.devB,
      guestMac: rec.guest.mac,
      ipA: rec.ipA,
      ipB: rec.ipB,
    },
    close: () => agent.close(),
  }
}

/** The held testbed NAME as gen's target; exit 5 when none is held. */
export function genTestbed(name: string): GenTestbed {
  const rec = heldTestbed(name)
  if (rec.kind === 'vm') return heldVmTarget(rec)
  return {kind: 'link', name, target: linkGenTarget(rec)}
}
