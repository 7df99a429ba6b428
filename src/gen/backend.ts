// Which sender backend runs, and what an AF_XDP failure means to a person. Pure: the probe that
// binds a socket is passed in, so the choice and the messages are unit-tested without root.
import {ExitCode, MqbError, badInput, errnoCode, fromNative} from '../errors.js'
import type {XdpMode} from '../native.js'

export type GenBackend = 'packet' | 'tap' | 'xdp'
export type GenBackendFlag = GenBackend | 'auto'

export interface BackendInput {
  backend: GenBackendFlag
  xdpMode?: XdpMode
  /** false: through the qdisc (--qdisc), a packet-backend option */
  qdiscBypass?: boolean
  txRing?: boolean
}

/** Options that belong to another backend are refused rather than ignored. */
export function checkBackendOptions(o: BackendInput): void {
  if ((o.backend === 'xdp' || o.backend === 'tap') && (o.qdiscBypass === false || o.txRing))
    throw badInput(
      `--${o.qdiscBypass === false ? 'qdisc' : 'tx-ring'} is an option of the packet backend; --backend ${o.backend} does not use it`,
    )
  if ((o.backend === 'packet' || o.backend === 'tap') && o.xdpMode && o.xdpMode !== 'auto')
    throw badInput(`--xdp-mode ${o.xdpMode} needs --backend xdp (or auto)`)
  if (o.backend === 'auto' && o.xdpMode && o.xdpMode !== 'auto' && (o.qdiscBypass === false || o.txRing))
    throw badInput(
      `--xdp-mode ${o.xdpMode} asks for AF_XDP and --${o.qdiscBypass === false ? 'qdisc' : 'tx-ring'} for AF_PACKET; give one`,
    )
}

/**
 * --backend tap opens queue fds of a tun/tap device (TUNSETIFF); on a link of another kind the
 * kernel answers EINVAL, which reads like a tap of the wrong flags: say what the device is.
 */
export function tapBackendRefusal(dev: string, kind: string | undefined): MqbError | undefined {
  if (kind === undefined || kind === 'tun') return undefined
  return new MqbError(
    `--backend tap sends through a tap's queue fds, and ${dev} is a ${kind}, not a tap; use --backend packet or xdp on it`,
    ExitCode.unsupported,
  )
}

export interface BackendChoice {
  backend: 'packet' | 'xdp'
  /** the mode queue 0 was bound in (xdp) */
  xdpMode?: 'copy' | 'zerocopy'
  /** why auto chose this backend */
  reason?: string
}

/**
 * --backend auto: AF_XDP where the kernel and the device take a socket, AF_PACKET otherwise or when
 * a packet-backend option was given. A failure a person must fix (privileges, no such device)
 * is an error either way; anything the kernel or device lacks falls back to packet.
 */
export function chooseBackend(
  o: BackendInput & {dev: string},
  probeXdp: () => 'copy' | 'zerocopy',
): BackendChoice {
  if (o.backend === 'packet') return {backend: 'packet'}
  // An explicit --xdp-mode asks for AF_XDP: it is had or refused, never swapped for AF_PACKET.
  const xdpAsked = o.backend === 'xdp' || (o.xdpMode !== undefined && o.xdpMode !== 'auto')
  if (!xdpAsked && (o.qdiscBypass === false || o.txRing))
    return {
      backend: 'packet',
      reason: `packet: ${o.qdiscBypass === false ? '--qdisc' : '--tx-ring'} is an AF_PACKET option`,
    }
  try {
    const mode = probeXdp()
    return {
      backend: 'xdp',
      xdpMode: mode,
      ...(o.backend === 'auto'
        ? {
            reason: `xdp (${mode} mode): ${xdpAsked ? `--xdp-mode ${o.xdpMode}` : `${o.dev} takes AF_XDP sockets`}`,
          }
        : {}),
    }
  } catch (err) {
    const code = errnoCode(err)
    if (xdpAsked || ['EPERM', 'EACCES', 'ENODEV', 'ENXIO', 'ENETDOWN'].includes(code ?? ''))
      throw xdpError(err, {dev: o.dev, xdpMode: o.xdpMode ?? 'auto'})
    return {
      backend: 'packet',
      reason: `packet: AF_XDP is not available on ${o.dev} (${xdpError(err, {dev: o.dev, xdpMode: o.xdpMode ?? 'auto'}).message})`,
    }
  }
}

/** One line a person can act on for each way an AF_XDP socket fails to open, bind or send. */
export function xdpError(err: unknown, ctx: {dev: string; xdpMode: XdpMode}): Error {
  if (err instanceof MqbError) return err
  const message = err instanceof Error ? err.message : String(err)
  switch (errnoCode(err)) {
    case 'EAFNOSUPPORT':
      return new MqbError(
        `${message}: this kernel has no AF_XDP (CONFIG_XDP_SOCKETS); use --backend packet`,
        ExitCode.unsupported,
      )
    case 'EPERM':
    case 'EACCES':
      return new MqbError(
        `${message}: AF_XDP needs CAP_NET_RAW (and CAP_NET_ADMIN/CAP_BPF on kernels that ask for them); run as root, or grant them: sudo setcap cap_net_raw,cap_net_admin,cap_bpf+ep "$(readlink -f "$(which node)")"`,
        ExitCode.privilege,
      )
    case 'ENOBUFS':
      return new MqbError(
        `${message}: the UMEM counts against RLIMIT_MEMLOCK (\`ulimit -l\`) for a process without CAP_IPC_LOCK; raise it (\`ulimit -l unlimited\`, or LimitMEMLOCK= in a unit) or grant CAP_IPC_LOCK`,
        ExitCode.privilege,
      )
    case 'EOPNOTSUPP':
      return new MqbError(
        ctx.xdpMode === 'zerocopy'
          ? `${message}: the driver of ${ctx.dev} has no zero-copy AF_XDP; use --xdp-mode copy (or auto, which falls back to copy)`
          : `${message}: ${ctx.dev} does not support AF_XDP this way`,
        ExitCode.unsupported,
      )
    case 'EBUSY':
      return new MqbError(
        `${message}: another AF_XDP socket (another mqbench gen, or an XDP application) holds that queue of ${ctx.dev}; stop it or send on other queues`,
        ExitCode.busy,
      )
    case 'EINVAL':
      return new MqbError(
        `${message}: ${ctx.dev} has no such queue for AF_XDP (\`ethtool -l ${ctx.dev}\` shows its queues)`,
        ExitCode.unsupported,
      )
    case 'EMSGSIZE':
      return new MqbError(message, ExitCode.unsupported)
    default:
      return fromNative(err, {capability: 'CAP_NET_RAW', dev: ctx.dev})
  }
}
