#!/usr/bin/env bash
# Benchmarks spacetime-backup beside restic and borg on the shared data set, in one run, with the
# shared harness (../shared/bench/run_anchors.sh): full backup (median of FULL_RUNS), no-change
# backup, incremental after `gen_dataset.py mutate`, restore (verified with diff -r), check.
#   bench/run.sh [TOOL ...]      default: spacetime-backup restic borg-zstd3
#   SCALE=1 FULL_RUNS=3 BENCH_DATA=/tmp/bench-data SHARED_BENCH=../shared/bench
# Prints a markdown table (wall, CPU, peak RSS, repository bytes) and writes it to $RESULTS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
[ -x "$SHARED_BENCH/run_anchors.sh" ] || { echo "no harness at $SHARED_BENCH (set SHARED_BENCH)" >&2; exit 2; }
"$ROOT/scripts/install-deps.sh" --bench
"$ROOT/scripts/build.sh" release >/dev/null
export STB_BIN=$ROOT/build/spacetime-backup
export RESULTS=${RESULTS:-${BENCH_DATA:-/tmp/bench-data}/results/spacetime-$(date +%Y%m%d-%H%M%S)}
if [ $# -eq 0 ]; then set -- spacetime-backup restic borg-zstd3; fi
ADAPTERS_DIR=$HERE/adapters exec "$SHARED_BENCH/run_anchors.sh" "$@"
