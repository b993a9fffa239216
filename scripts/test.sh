#!/usr/bin/env bash
# The test command: installs what is missing, builds the release and the ASan+UBSan
# configurations, runs every libFuzzer target for a bounded time (FUZZ_SECONDS each, default 15;
# longer runs by hand: scripts/fuzz.sh 600), and runs every test (unit and end-to-end) with ctest
# in both configurations.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
scripts/build.sh asan
echo "== fuzz targets, ${FUZZ_SECONDS:-15} s each" >&2
scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
jobs=$(nproc)
echo "== release tests" >&2
(cd build && ctest -j "$jobs" --output-on-failure --timeout 900)
echo "== ASan+UBSan tests" >&2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest -j "$jobs" --output-on-failure --timeout 1800)
