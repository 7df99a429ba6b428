// Child process of native-handles.test.ts: `node --expose-gc native-handles-gc.mjs ADDON`, run in a
// network namespace of its own (unshare -n, loopback up), so that the gen senders' frames, the
// sessions' connections and the taps stay inside it and vanish with the process.
// For each kind of native handle it starts an engine, counts the process's threads in
// /proc/self/task, drops the handle without stop(), collects garbage and counts again; one line of
// JSON per case on stdout. The addon is loaded directly (ADDON may be an AddressSanitizer build).
import {createRequire} from 'node:module'
import {readdirSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {setTimeout as sleep} from 'node:timers/promises'

const addon = createRequire(import.meta.url)(process.argv[2])
const threads = () => readdirSync('/proc/self/task').length

/** Collects garbage until the thread count is back to `base` (finalizers may run a turn later). */
async function collect(base) {
  for (let i = 0; i < 250 && threads() > base; i++) {
    globalThis.gc()
    await sleep(20)
  }
  return threads()
}

async function until(what, cond) {
  for (let i = 0; i < 250; i++) {
    if (cond()) return
    await sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

const frame = {
  tap: false,
  dev: 'lo',
  ipv6: false,
  srcMac: [2, 0, 0, 0, 0, 1],
  dstMac: [2, 0, 0, 0, 0, 2],
  srcIp: [198, 18, 0, 1],
  dstIp: [198, 18, 0, 2],
  dstPort: 9,
  frameSize: 60,
  flowsPerQueue: 1,
  burst: 8,
}
const queues = (n) => Array.from({length: n}, () => ({cpu: -1, ratePps: 2000, count: 0, srcPort: 9}))

// Each case starts engines and returns their handles, which nothing keeps after runningThreads().
const cases = {
  gen: () => [addon.startGen({...frame, durationMs: 60_000, queues: queues(2)})],
  rx: () => [addon.startRx({dev: 'lo', sockets: 2, queues: 1, flowsPerQueue: 1})],
  sessions: async () => {
    const common = {workload: 'tcp_rr', host: '127.0.0.1', sessions: 4, threads: 2, cookie: 7}
    const server = addon.sessionsStart({...common, side: 'server', port: 0})
    const client = addon.sessionsStart({...common, side: 'client', port: server.port()})
    await until('4 sessions making progress', () => client.poll().ops.every((n) => n > 0))
    return [server, client]
  },
  relay: () => {
    const a = addon.tapOpen({name: 'mqb-gc-a', queues: 2})
    const b = addon.tapOpen({name: 'mqb-gc-b', queues: 2})
    fds.push(...a.fds, ...b.fds)
    return [addon.relayStart({fdsA: a.fds, fdsB: b.fds, vnetHdrLen: 0})]
  },
}
const fds = []

// The libuv pool starts its threads on first use (wait() and join() run there): start it first,
// so that it is part of every baseline.
await readFile('/proc/self/stat')

/** Starts a case's engines and counts threads while they run; the handles die with this frame. */
async function runningThreads(start) {
  const handles = await start()
  return handles.length > 0 ? threads() : 0
}

for (const [name, start] of Object.entries(cases)) {
  const before = threads()
  const running = await runningThreads(start)
  const after = await collect(before)
  console.log(JSON.stringify({name, before, running, after}))
}

// A handle dropped while its wait() is pending stays alive until the promise settles: the engine
// runs its full duration instead of being stopped by the finalizer.
{
  const before = threads()
  let h = addon.startGen({...frame, durationMs: 400, queues: queues(2)})
  const running = threads()
  const waiting = h.wait()
  h = undefined
  for (let i = 0; i < 5; i++) {
    globalThis.gc()
    await sleep(20)
  }
  const stats = await waiting
  const ranMs = Math.min(...stats.map((q) => (q.endNs - q.startNs) / 1e6))
  const after = await collect(before)
  console.log(JSON.stringify({name: 'gen-waiting', before, running, after, ranMs}))
}

for (const fd of fds) addon.closeFd(fd)
