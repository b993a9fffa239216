#!/usr/bin/env bash
# Fails when a C++ source is not formatted as .clang-format says (run as a ctest test).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format is not installed (scripts/install-deps.sh)" >&2; exit 1; }
find src test bench -path test/services/node_modules -prune -o \( -name '*.cc' -o -name '*.h' \) -print0 | xargs -0 clang-format --dry-run --Werror
echo "formatting ok"
