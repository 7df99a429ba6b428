#!/bin/sh
# Fails when a native source differs from what clang-format (.clang-format) makes of it.
# Debian's clang-format; CI installs it. Without it the check says so instead of passing silently.
set -eu
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
  echo "lint: clang-format not found (apt-get install clang-format)" >&2
  exit 1
fi
clang-format --dry-run --Werror native/*.cc native/*.h native/agent/*.cc native/agent/*.h
