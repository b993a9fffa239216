#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, in build-fuzz/) and runs each for a bounded
# time over a temporary copy of its committed seed corpus (fuzz/corpus/<target>/), one process per
# target, FUZZ_JOBS (default: the number of cores) targets at once.
# Fails when a target finds a crash, a leak, a timeout or runs out of memory; the reproducer is
# kept in fuzz-artifacts/ and its name printed.
#   scripts/fuzz.sh [SECONDS_PER_TARGET (default 20)] [TARGET...]   (default: every target)
# FUZZ_NO_BUILD=1 skips the build (ctest -L fuzz); FUZZ_BUILD_DIR overrides build-fuzz/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER_TARGET=${1:-20}
shift || true
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
ARTIFACTS=${FUZZ_ARTIFACTS:-$ROOT/fuzz-artifacts}
cd "$ROOT"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^stb_fuzz(\([a-z0-9_]*\) .*/\1/p' fuzz/CMakeLists.txt)
fi

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is not installed (scripts/install-deps.sh)" >&2; exit 1; }
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=true
  if [ ! -f "$BUILD/build.ninja" ]; then
    # -Werror off: clang warns where GCC (the main build, which keeps -Werror) does not.
    CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTB_FUZZ=ON -DSTB_WERROR=OFF >/dev/null
  fi
  ninja -C "$BUILD" -j "${FUZZ_BUILD_JOBS:-2}" "${targets[@]/#/fuzz_}"
fi

mkdir -p "$ARTIFACTS"
# One libFuzzer process per target (no -jobs), FUZZ_JOBS targets at a time (default: one per
# core): the bounded CI run takes SECONDS x targets / cores instead of SECONDS x targets.
run_one() {
  local t=$1 bin=$BUILD/fuzz/fuzz_$1 work log
  work=$(mktemp -d /tmp/stb-fuzz-$t.XXXXXX)
  [ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$work/"
  log=$work.log
  # -rss_limit_mb: parsers must bound what hostile input makes them allocate.
  if "$bin" "$work" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$t-" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o "cov: [0-9]*" "$log" | tail -1 || true)
    echo "fuzz $t: ok, ${runs:-?} runs in ${SECONDS_PER_TARGET}s, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l) inputs"
    rm -f "$log"
    rm -rf "$work"
  else
    echo "fuzz $t: FAILED; last lines of the log ($log):" >&2
    grep -E "ERROR|SUMMARY|Test unit written|runtime error" "$log" | head -20 >&2 || tail -30 "$log" >&2
    rm -rf "$work"
    return 1
  fi
}
for t in "${targets[@]}"; do
  [ -x "$BUILD/fuzz/fuzz_$t" ] || { echo "fuzz.sh: $BUILD/fuzz/fuzz_$t is not built" >&2; exit 1; }
done
jobs_max=${FUZZ_JOBS:-$(nproc)}
declare -A pid_target=()
failed=()
reap_one() {
  local done_pid
  wait -n -p done_pid || { [ -n "${done_pid:-}" ] && failed+=("${pid_target[$done_pid]}"); }
  unset "pid_target[$done_pid]"
}
for t in "${targets[@]}"; do
  while [ ${#pid_target[@]} -ge "$jobs_max" ]; do reap_one; done
  run_one "$t" &
  pid_target[$!]=$t
done
while [ ${#pid_target[@]} -gt 0 ]; do reap_one; done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (reproducers in $ARTIFACTS)" >&2
  exit 1
fi
