#!/usr/bin/env bash
# Builds the peers bench/sessions.sh compares against that Debian 12 does not package: netperf 2.7.1
# (netperf + netserver) and neper 1.1.0 (tcp_rr, udp_rr, tcp_crr), from their git sources, OUTSIDE
# this repository: into $MQB_PEERS (default ${XDG_CACHE_HOME:-~/.cache}/mqbench-peers), where
# bench/sessions.sh looks for them. Pinned commits, so every run compares against the same code.
#   NETPERF_GIT / NEPER_GIT: where to clone from (default: github; a local git dir works too).
# netperf's tree has no generated configure after 2.7.0: autogen.sh needs autoconf and automake.
# gcc 10 and later default to -fno-common, which netperf 2.7.1's duplicate globals do not link with,
# hence CFLAGS=-fcommon; only src/ is made (doc/ needs makeinfo). Already built: prints the paths and does nothing else.
# Usage: bench/peers.sh   (needs git, cc, make, autoconf, automake)
set -euo pipefail
DEST=${MQB_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/mqbench-peers}
NETPERF_GIT=${NETPERF_GIT:-https://github.com/HewlettPackard/netperf.git}
NETPERF_COMMIT=afc51ff # AC_INIT(netperf, 2.7.1)
NEPER_GIT=${NEPER_GIT:-https://github.com/google/neper.git}
NEPER_COMMIT=ea5890f # neper 1.1.0 and later fixes
mkdir -p "$DEST/bin"
DEST=$(cd "$DEST" && pwd)

fetch() { # git-url commit dir: a checkout of that commit in dir (a fresh clone each build)
  rm -rf "$3"
  git clone -q "$1" "$3"
  git -C "$3" -c advice.detachedHead=false checkout -q "$2"
}

if [ -x "$DEST/bin/netperf" ] && [ -x "$DEST/bin/netserver" ]; then
  echo "netperf: $DEST/bin/netperf (built before; remove it to rebuild)"
else
  for c in git cc make autoreconf aclocal; do command -v $c >/dev/null || { echo "bench/peers.sh needs $c to build netperf (apt-get install git gcc make autoconf automake)" >&2; exit 1; }; done
  fetch "$NETPERF_GIT" $NETPERF_COMMIT "$DEST/src/netperf"
  (cd "$DEST/src/netperf" && ./autogen.sh >"$DEST/src/netperf.log" 2>&1 &&
    ./configure CFLAGS="-O2 -fcommon" >>"$DEST/src/netperf.log" 2>&1 && make -C src -j"$(nproc)" >>"$DEST/src/netperf.log" 2>&1) ||
    { echo "netperf did not build: $DEST/src/netperf.log says $(tail -1 "$DEST/src/netperf.log")" >&2; exit 1; }
  cp "$DEST/src/netperf/src/netperf" "$DEST/src/netperf/src/netserver" "$DEST/bin/"
  echo "netperf: $DEST/bin/netperf ($("$DEST/bin/netperf" -V | tr -d '\n'))"
fi

if [ -x "$DEST/bin/tcp_rr" ] && [ -x "$DEST/bin/tcp_crr" ] && [ -x "$DEST/bin/udp_rr" ]; then
  echo "neper: $DEST/bin/tcp_rr (built before; remove it to rebuild)"
else
  for c in git cc make; do command -v $c >/dev/null || { echo "bench/peers.sh needs $c to build neper (apt-get install git gcc make)" >&2; exit 1; }; done
  fetch "$NEPER_GIT" $NEPER_COMMIT "$DEST/src/neper"
  make -C "$DEST/src/neper" -j"$(nproc)" tcp_rr tcp_crr udp_rr >"$DEST/src/neper.log" 2>&1 ||
    { echo "neper did not build: $DEST/src/neper.log says $(tail -1 "$DEST/src/neper.log")" >&2; exit 1; }
  cp "$DEST/src/neper/tcp_rr" "$DEST/src/neper/tcp_crr" "$DEST/src/neper/udp_rr" "$DEST/bin/"
  echo "neper: $DEST/bin/tcp_rr"
fi
