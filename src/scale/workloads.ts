// The workloads a sweep can run, as a table: each prepares once per testbed (a session server
// in the far namespace, or the remote one of a dev testbed) and then runs one measured window
// with fresh connections per call, because tun keeps a flow on the queue it last used.
import {randomBytes} from 'node:crypto'
import {ExitCode, MqbError} from '../errors.js'
import type {GenBackendFlag} from '../gen/backend.js'
import {runGen} from '../gen/run.js'
import {vmGenTarget} from '../gen/testbed.js'
import {defaultVmFlows, runVmGen} from '../gen/vm.js'
import type {RunConfig, WorkloadResult} from '../results/schema.js'
import {runRr, runStream, startServerProcess} from '../sessions/index.js'
import {linkInfo} from '../host/netns.js'
import type {Testbed} from '../testbed/types.js'
import type {WorkloadName} from './plan.js'

export interface WorkloadWindow {
  queueCount: number
  durationMs: number
  signal: AbortSignal
}

export interface PreparedWorkload {
  run(w: WorkloadWindow): Promise<WorkloadResult>
  close(): Promise<void>
}

export interface Workload {
  describe: string
  prepare(
    tb: Testbed,
    config: RunConfig,
    opts: {token?: string; allowRemote?: boolean},
  ): Promise<PreparedWorkload>
}

interface Endpoint {
  server: string
  /** a dev testbed's server is another host: allowed only when the person said --allow-remote */
  allowRemote: boolean
  port: number
  token?: string
  close(): Promise<void>
}

/**
 * The far end: the testbed's remote server, or one started in its B namespace (in a vm testbed:
 * in the guest) for this run, which takes the run's session count (a remote server has its own
 * --max-sessions). `testbed up` starts one too, for `rr`/`stream --testbed NAME`. A local one runs
 * in a child process (startServerProcess), as a person would run `mqbench server`.
 */
export async function serverFor(
  tb: Testbed,
  sessions: number,
  token?: string,
  allowRemote = false,
  cpus?: number[],
): Promise<Endpoint> {
  if (tb.remote) {
    if (!tb.remote.port)
      throw new MqbError(`give the remote server's port: --server ${tb.remote.host}:PORT`, ExitCode.badInput)
    return {
      server: tb.remote.host,
      allowRemote,
      port: tb.remote.port,
      token: tb.remote.token ?? token,
      close: async () => {},
    }
  }
  const own = token ?? randomBytes(12).toString('hex')
  if (tb.startFarServer) {
    const far = await tb.startFarServer(own, sessions)
    // an ssh:// far end is another host by the person's own naming: the consent to leave this one
    return {
      server: tb.ipB,
      allowRemote: Boolean(tb.farHost),
      port: far.port,
      token: own,
      close: () => far.close(),
    }
  }
  const s = await startServerProcess({
    bind: tb.ipB,
    port: 0,
    netns: tb.nsB,
    token: own,
    maxSessions: sessions,
    cpus,
  })
  return {server: tb.ipB, allowRemote: false, port: s.port, token: own, close: () => s.close()}
}

const num = (config: RunConfig, key: string) => Number(config.params[key])

const rrWorkload = (describe: string): Workload => ({
  describe,
  async prepare(tb, config, opts) {
    const ep = await serverFor(tb, config.sessions, opts.token, opts.allowRemote, config.pinnedCpus?.server)
    const type = String(config.params.type) as 'tcp_rr' | 'udp_rr' | 'tcp_crr'
    return {
      run: (w) =>
        runRr(
          {
            server: ep.server,
            allowRemote: ep.allowRemote,
            port: ep.port,
            netns: tb.nsA,
            token: ep.token,
            type,
            sessions: config.sessions,
            requestSize: num(config, 'requestSize'),
            responseSize: num(config, 'responseSize'),
            durationMs: w.durationMs,
            cpus: config.pinnedCpus?.client,
            // read per iteration: the map follows the queue count the sweep set
            attribution: tb.queueAttribution?.() ?? {
              method: 'none',
              reason: `the ${tb.kind} testbed names no queue for a session (docs/sessions.md, Queues and TCP_INFO)`,
            },
            queueCount: tb.queueCount(),
          },
          {signal: w.signal},
        ),
      close: () => ep.close(),
    }
  },
})

export const WORKLOADS: Record<WorkloadName, Workload> = {
  rr: rrWorkload('TCP request/response (netperf TCP_RR), one transaction in flight per session'),
  crr: rrWorkload('TCP connect/request/response/close (netperf TCP_CRR)'),
  udp_rr: rrWorkload('UDP request/response (netperf UDP_RR)'),
  stream: {
    describe: 'bulk TCP from A to B (netperf TCP_STREAM)',
    async prepare(tb, config, opts) {
      const ep = await serverFor(tb, config.sessions, opts.token, opts.allowRemote, config.pinnedCpus?.server)
      const type = String(config.params.type) as 'tcp_stream' | 'tcp_maerts' | 'udp_stream'
      return {
        run: (w) =>
          runStream(
            {
              server: ep.server,
              allowRemote: ep.allowRemote,
              port: ep.port,
              netns: tb.nsA,
              token: ep.token,
              type,
              sessions: config.sessions,
              messageSize: num(config, 'messageSize'),
              durationMs: w.durationMs,
              cpus: config.pinnedCpus?.client,
            },
            {signal: w.signal},
          ),
        close: () => ep.close(),
      }
    },
  },
  gen: {
    describe: 'pktgen-style UDP frames from A, flowsPerQueue flows per active queue, counted at B',
    async prepare(tb, config) {
      if (tb.guest) {
        // Into the guest: AF_PACKET on the tap (tun's flow hash spreads the flows over the queues
        // qemu has attached, so at least FLOWS_PER_GUEST_QUEUE per queue), counted per RX queue by
        // the agent's receiver in the guest, besides the sweep's own guest snapshots.
        const target = vmGenTarget(tb)
        return {
          run: (w) =>
            runVmGen(
              target,
              {
                direction: 'to-guest',
                queues: w.queueCount,
                frameSize: num(config, 'frameSize'),
                flowsPerQueue: Math.max(
                  num(config, 'flowsPerQueue'),
                  defaultVmFlows(w.queueCount, w.queueCount),
                ),
                durationMs: w.durationMs,
              },
              {signal: w.signal},
            ),
          close: async () => {},
        }
      }
      if (!tb.nsB)
        throw new MqbError(
          'the gen workload needs a local receiver: use the tap or veth testbed',
          ExitCode.unsupported,
        )
      const dstMac = linkInfo(tb.devB, tb.nsB).mac
      // Runs recorded before the backend was a parameter ran AF_PACKET; a resume repeats that.
      const backend = String(config.params.backend ?? 'packet') as GenBackendFlag
      return {
        run: (w) =>
          runGen(
            {
              backend,
              dev: tb.devA,
              netns: tb.nsA,
              queues: w.queueCount,
              frameSize: num(config, 'frameSize'),
              flowsPerQueue: num(config, 'flowsPerQueue'),
              dstMac,
              srcIp: tb.ipA,
              dstIp: tb.ipB,
              durationMs: w.durationMs,
              rx: {dev: tb.devB, netns: tb.nsB},
            },
            {signal: w.signal},
          ),
        close: async () => {},
      }
    },
  },
}
