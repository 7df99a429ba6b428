#!/usr/bin/env node
// Writes the control protocol's test vectors (test/fixtures/protocol/*.json, described in
// docs/protocol.md) from the TypeScript encoder in dist/: run `npm run build` first, and again
// after any protocol change, in the same commit. test/unit/sessions-protocol.test.ts checks that
// the vectors and the code agree; the guest agent's C++ server checks itself against them too.
import {mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {encodeMessage, PROTOCOL_VERSION} from '../dist/sessions/protocol.js'

const dir = fileURLToPath(new URL('../test/fixtures/protocol/', import.meta.url))
mkdirSync(dir, {recursive: true})
for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(dir + f)
const limits = {maxSessions: 20000, maxDurationMs: 3600000}
const lines = (m) =>
  encodeMessage(m)
    .split('\n')
    .filter((l) => l)
const save = (name, v) =>
  writeFileSync(
    dir + name + '.json',
    '{\n' +
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(
          ([k, x]) =>
            '  ' +
            JSON.stringify(k) +
            ': ' +
            (k === 'lines'
              ? '[\n' + x.map((l) => '    ' + JSON.stringify(l)).join(',\n') + '\n  ]'
              : JSON.stringify(x)),
        )
        .join(',\n') +
      '\n}\n',
  )
const valid = (name, from, description, messages) =>
  save(name, {
    description,
    from,
    limits: from === 'client' ? limits : undefined,
    lines: messages.flatMap(lines),
    messages,
  })
const invalid = (name, from, description, ls, error, closed = false) =>
  save(name, {description, from, limits: from === 'client' ? limits : undefined, lines: ls, closed, error})

const test = (sessions, serverSends, extra = {}) => ({
  type: 'test',
  workload: 'tcp_stream',
  sessions,
  threads: 2,
  durationMs: 3000,
  requestSize: 1,
  responseSize: 1,
  messageSize: 16384,
  ...extra,
  serverSends,
})
const cpu = {userPct: 12.5, sysPct: 30.25, softirqPct: 4, irqPct: 0, totalPct: 46.75, cpus: 2}
const result = (n) => ({
  type: 'result',
  cpu,
  busyMs: 2805.5,
  processUs: {user: 410000, sys: 1290000},
  sessions: Array.from({length: n}, (_, i) => ({
    ops: 10000 + ((i * 7919) % 5000),
    datagrams: 0,
    retransmits: i % 3,
  })),
})

valid('client-hello', 'client', 'hello with a token and the workload the client needs', [
  {type: 'hello', version: PROTOCOL_VERSION, token: 's3cret', caps: ['tcp_rr']},
])
valid('client-test-small', 'client', 'a 2-session tcp_rr test: header and one chunk', [
  test(2, [0, 0], {workload: 'tcp_rr', messageSize: 1}),
])
const bidir = Array.from({length: 18000}, (_, i) => (i < 9000 ? 0 : 1))
valid(
  'client-test-chunked',
  'client',
  'an 18,000-connection --bidir tcp_stream test (fits an open-file limit of 20,000): serverSends packed into chunks of at most 32 KiB',
  [test(18000, bidir)],
)
valid('client-measure', 'client', 'the start of the window (only to a server with cap "window")', [
  {type: 'measure'},
])
valid('client-done', 'client', 'the end of the window', [{type: 'done'}])
const welcome = {
  type: 'welcome',
  version: PROTOCOL_VERSION,
  caps: ['tcp_rr', 'udp_rr', 'tcp_crr', 'tcp_stream', 'udp_stream', 'burst', 'bidir', 'window'],
  limits: {maxSessions: 20000, maxDurationMs: 3600000},
}
valid('server-welcome', 'server', 'the answer to hello, from a server whose threads are not pinned', [
  {...welcome, cpus: []},
])
valid('server-welcome-pinned', 'server', 'the answer to hello, from a server started with --cpus 1,0', [
  {...welcome, cpus: [1, 0]},
])
valid(
  'server-welcome-without-cpus',
  'server',
  'an older server says nothing of its pinning: still read, the client records it as unknown',
  [welcome],
)
invalid(
  'server-welcome-bad-cpus',
  'server',
  'a CPU number that is not one',
  [JSON.stringify({...welcome, cpus: [0, -1]})],
  'cpus must be a list of at most 1024 CPU numbers 0..65535',
)
valid('server-ready', 'server', 'the answer to test', [{type: 'ready', port: 40123, cookie: 123456789}])
valid('server-result-small', 'server', 'the answer to done for 3 sessions: header and one chunk', [result(3)])
valid(
  'server-result-chunked',
  'server',
  'the answer to done for 2,000 sessions: per-session figures in chunks of at most 32 KiB',
  [result(2000)],
)
valid(
  'server-result-window',
  'server',
  'the answer to done after measure: windowOps, each session counted over the client window',
  [
    {
      ...result(2),
      sessions: result(2).sessions.map((s, i) => ({...s, datagrams: 800 + i, windowOps: 7000 + i})),
    },
  ],
)
valid('server-error', 'server', 'a refusal', [{type: 'error', reason: 'wrong or missing token'}])

const t4 = lines(test(4, [0, 0, 0, 0]))
const head2 = JSON.stringify({...JSON.parse(t4[0]), chunks: 2})
const c = (seq, first, items) => JSON.stringify({type: 'chunk', seq, first, items})
invalid(
  'client-test-reordered',
  'client',
  'chunk 1 arrives before chunk 0',
  [head2, c(1, 2, [0, 0]), c(0, 0, [0, 0])],
  'chunks must come in order',
)
invalid(
  'client-test-repeated',
  'client',
  'chunk 0 arrives twice',
  [head2, c(0, 0, [0, 0]), c(0, 0, [0, 0])],
  'chunks must come in order',
)
invalid(
  'client-test-gap',
  'client',
  'chunk 1 does not start where chunk 0 ended',
  [head2, c(0, 0, [0, 0]), c(1, 3, [0])],
  'starts at session 3, expected 2',
)
invalid(
  'client-test-truncated-close',
  'client',
  'the connection closes after the first of two chunks',
  [head2, c(0, 0, [0, 0])],
  'truncated: the connection closed after 2 of 4 sessions',
  true,
)
invalid(
  'client-test-truncated-short',
  'client',
  'the announced chunks carry fewer sessions than the header',
  [head2, c(0, 0, [0]), c(1, 1, [0, 0])],
  'truncated: its 2 chunks carried 3 of 4 sessions',
)
invalid(
  'client-test-interrupted',
  'client',
  'another message arrives before the last chunk',
  [head2, c(0, 0, [0, 0]), '{"type":"done"}'],
  'truncated: a "done" message arrived after 2 of 4 sessions',
)
invalid(
  'client-test-oversized-chunk',
  'client',
  'a chunk carries more sessions than the header announced',
  [head2, c(0, 0, [0, 0]), c(1, 2, [0, 0, 0])],
  'beyond the 4 announced',
)
invalid(
  'client-test-too-many-chunks',
  'client',
  'more chunks than sessions',
  [JSON.stringify({...JSON.parse(t4[0]), chunks: 5})],
  'chunks 5 is out of range 1..4',
)
invalid(
  'client-chunk-alone',
  'client',
  'a chunk with no header before it',
  [c(0, 0, [0])],
  'without a message announcing it',
)
invalid('client-empty-chunk', 'client', 'a chunk with no items', [head2, c(0, 0, [])], 'non-empty list')
invalid(
  'client-test-bad-item',
  'client',
  'serverSends items are 0 or 1',
  [t4[0], c(0, 0, [0, 2, 0, 0])],
  'serverSends[1] must be 0 or 1',
)
invalid(
  'client-test-udp-server-sends',
  'client',
  'the server never sends a UDP stream',
  [JSON.stringify({...JSON.parse(t4[0]), workload: 'udp_stream', messageSize: 1400}), c(0, 0, [0, 1, 0, 0])],
  'never sends a UDP stream',
)
invalid(
  'client-test-too-many-sessions',
  'client',
  "sessions beyond the server's limit",
  [JSON.stringify({...JSON.parse(t4[0]), sessions: 20001})],
  'sessions 20001 is out of range 1..20000',
)
invalid(
  'client-line-too-long',
  'client',
  'a line longer than 64 KiB (65,536 bytes)',
  [`{"type":"hello","version":${PROTOCOL_VERSION},"pad":"${'a'.repeat(65536)}"}`],
  'longer than 65536 bytes',
)
const r3 = lines(result(3))
invalid(
  'server-result-truncated-close',
  'server',
  'the server closes after the header',
  [r3[0]],
  'result truncated: the connection closed after 0 of 3 sessions',
  true,
)
invalid(
  'server-result-oversized-chunk',
  'server',
  'a chunk with more sessions than announced',
  [r3[0], c(0, 0, [{ops: 1}, {ops: 1}, {ops: 1}, {ops: 1}])],
  'beyond the 3 announced',
)
