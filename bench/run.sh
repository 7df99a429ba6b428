#!/usr/bin/env bash
# `npm run bench`: every benchmark, each against a peer measured in the same run on the same
# throwaway namespaces (trafgen, sockperf, iperf3 from Debian's packages; neper, which Debian does
# not package, with NEPER=path to its tcp_rr: bench/sessions.sh). Needs root.
# Run one with `npm run bench -- gen` (gen, sessions, relay, report).
set -euo pipefail
cd "$(dirname "$0")/.."
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
