// The sessions library's public face: the server, rr and stream clients, and the pure helpers
// the scale sweep, `mqbench check` and reports reuse.
export {startServer, DEFAULT_PORT, DEFAULT_LIMITS} from './server.js'
export {startServerProcess} from './server-process.js'
export type {ServerOptions, ServerHandle} from './server.js'
export {runRr, rrResult, checkRrOptions} from './rr.js'
export type {RrOptions, RrHooks} from './rr.js'
export {
  runStream,
  streamResult,
  checkStreamOptions,
  streamDirections,
  DEFAULT_MESSAGE_BYTES,
} from './stream.js'
export type {StreamOptions, StreamHooks} from './stream.js'
export {PartialRunError, probeServer} from './client.js'
export {jainIndex, fairness, serviceDemandUs} from './fairness.js'
export {
  iterate,
  parseIterations,
  parseConfidence,
  confidenceInterval,
  needsAnotherIteration,
  SINGLE_RUN,
} from './iterations.js'
export type {IterationPolicy, IterationOutcome, ConfidenceInterval} from './iterations.js'
export {resolveTarget, isLocalAddress, isLoopback, localAddresses} from './target.js'
export {PROTOCOL_VERSION} from './protocol.js'
export type {RrResult, StreamResult, RrType, StreamType} from '../results/schema.js'
