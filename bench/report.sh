#!/usr/bin/env bash
# Time `mqbench report` on a sweep of 8 steps x 5 iterations x 20 sessions (a synthetic but
# internally consistent results file with real encoded histograms) and report the HTML size.
# Issue 5 asks for "well under a second" and a small page; this measures both, nothing else.
# Usage: bash bench/report.sh [runs]   (needs `npm run build` first for the CLI timing)
#        QUEUES=1,2 ITERATIONS=1 SESSIONS=10000 SAMPLES=100 bash bench/report.sh 3   (issue 11's size)
#        LIVE=1 QUEUES=1,2 ITERATIONS=1 SESSIONS=10000 bash bench/report.sh 3
#          (root: a real `mqbench scale --testbed veth` of that size, 3 s per iteration, instead of the
#           synthetic file; prints its wall time, then times the report of what it wrote)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
queues=${QUEUES:-1,2,3,4,5,6,7,8}
iterations=${ITERATIONS:-5}
sessions=${SESSIONS:-20}
samples=${SAMPLES:-1000}
work=$(mktemp -d /tmp/mqb-bench-report.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ -n "${LIVE:-}" ]; then
  [ -f dist/commands/scale.js ] || npm run build >/dev/null
  s=$(date +%s%N)
  node bin/run.js scale --testbed veth --queues "$queues" --iterations "$iterations" --sessions "$sessions" \
    --duration 3s --no-report --out "$work/live" >/dev/null 2>"$work/scale.err" || { cat "$work/scale.err"; exit 1; }
  echo "scale --testbed veth --queues $queues --iterations $iterations --sessions $sessions --duration 3s: $(( ($(date +%s%N) - s) / 1000000 )) ms, exit 0"
  mv "$work"/live/*.json "$work/sweep.json"
else
cat >"$work/make.mts" <<TS
import {writeFileSync} from 'node:fs'
import {synthRun} from '$PWD/test/fixtures/results/synth.ts'
const r = synthRun({workload: 'rr', testbed: 'tap', queues: [$queues], iterations: $iterations, sessions: $sessions, seed: 0xbe7c, base: 30000, contention: 0.3, durationMs: 10000, samplesPerSession: $samples})
writeFileSync('$work/sweep.json', JSON.stringify(r, null, 1))
TS
npx tsx "$work/make.mts" 2> >(grep -v "npm warn" >&2)
fi

# In-process: the library call the scale command makes at the end of a sweep (load + stats + HTML).
cat >"$work/lib.mts" <<TS
import {loadResults} from '$PWD/src/results/load.ts'
import {writeReport} from '$PWD/src/report/index.ts'
const times: number[] = []
let bytes = 0
for (let i = 0; i < $runs + 1; i++) {
  const t = performance.now()
  const r = loadResults('$work/sweep.json')
  bytes = (await writeReport([r], {out: '$work/lib.html'})).bytes
  if (i > 0) times.push(performance.now() - t) // the first run warms the JIT and reads the assets
}
times.sort((a, b) => a - b)
console.log(\`library (load + stats + render + write): median \${times[times.length >> 1].toFixed(0)} ms, min \${times[0].toFixed(0)} ms, max \${times.at(-1)!.toFixed(0)} ms over \${times.length} runs; HTML \${(bytes / 1024).toFixed(0)} KB\`)
TS

echo "input: steps of $queues queue(s) x $iterations iteration(s) x $sessions sessions, $(du -k "$work/sweep.json" | cut -f1) KB of results JSON"
npx tsx "$work/lib.mts" 2> >(grep -v "npm warn" >&2)

# End to end: a fresh node process running the CLI (oclif start-up included).
if [ -f dist/commands/report.js ]; then
  cli=()
  for _ in $(seq "$runs"); do
    s=$(date +%s%N)
    node bin/run.js report "$work/sweep.json" --out "$work/cli.html" >/dev/null 2>&1
    cli+=($(( ($(date +%s%N) - s) / 1000000 )))
  done
  sorted=($(printf '%s\n' "${cli[@]}" | sort -n))
  echo "CLI \`mqbench report\` wall time: median ${sorted[$(( runs / 2 ))]} ms, min ${sorted[0]} ms, max ${sorted[-1]} ms over $runs runs; HTML $(( $(stat -c %s "$work/cli.html") / 1024 )) KB"
else
  echo "CLI timing skipped: run npm run build first"
fi
