#!/usr/bin/env bash
# `npm run bench`: every benchmark, each against a peer measured in the same run on the same
# throwaway namespaces (trafgen, sockperf, iperf3 from Debian's packages; netperf and neper, which
# Debian does not package, as bench/peers.sh builds them: bench/sessions.sh). Needs root.
# Run one with `npm run bench -- gen` (gen, sessions, relay, report), or one with its own arguments:
# `npm run bench -- sessions 3 3 "netperf scale"`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 1 ] && [ -f "bench/$1.sh" ] && [ ! -f "bench/$2.sh" ]; then
  b=$1
  shift
  echo "=== bench/$b.sh $*"
  exec bash "bench/$b.sh" "$@"
fi
want=("${@:-gen sessions relay report}")
for b in ${want[*]}; do
  if [ -x "bench/$b.sh" ] || [ -f "bench/$b.sh" ]; then
    echo "=== bench/$b.sh"
    bash "bench/$b.sh"
  else
    echo "no benchmark named $b (have: $(ls bench | grep -v run.sh | sed 's/\.sh$//' | tr '\n' ' '))" >&2
    exit 2
  fi
done
