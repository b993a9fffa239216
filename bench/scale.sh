#!/usr/bin/env bash
# Many small files, ours beside restic in one run (issue 17): per tool, in a fresh repository, init,
# full, no-change, incremental after changing PCT% of the files, restore into an empty directory
# (verified against the generator's manifest), check. Each step under /usr/bin/time: wall, user, sys,
# peak RSS, RSS per file, repository bytes; the table ends with the issue's PASS/FAIL lines.
#   bench/scale.sh [TOOL ...]        default: spacetime-backup restic
#   N=1000000 PER_DIR=1000 SEED=1 PCT=1 BENCH_DATA=/tmp/bench-data CACHE_MODE=warm|none
#   BIN=path/to/spacetime-backup (default: a release build)   STRACE=1 (restore again under strace -c)
# Needs about 9 GB free per million files (pristine copy, work copy, restore, repository); what it
# writes under $BENCH_DATA/scale-work is removed on exit, the pristine copy is kept for the next run.
# Not yet here: the synthetic 10M-entry source and two hosts into one repository (issue 17's WP2).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
N=${N:-1000000} PER_DIR=${PER_DIR:-1000} SEED=${SEED:-1} PCT=${PCT:-1} CACHE_MODE=${CACHE_MODE:-warm}
BENCH_DATA=${BENCH_DATA:-/tmp/bench-data}
[ $# -eq 0 ] && set -- spacetime-backup restic
. "$HERE/lib.sh"

"$ROOT/scripts/install-deps.sh" --bench >/dev/null
bench_binary
need_kb=$(( (N / 1000) * 9 * 1024 ))
mkdir -p "$BENCH_DATA"
free_kb=$(df -Pk "$BENCH_DATA" | awk 'NR==2 {print $4}')
[ "$free_kb" -ge "$need_kb" ] ||
  { echo "scale.sh: needs ~$((need_kb / 1048576)) GB free in $BENCH_DATA, has $((free_kb / 1048576)) GB" >&2; exit 2; }

PRISTINE=$BENCH_DATA/scale-n$N-p$PER_DIR-s$SEED
if [ ! -f "$PRISTINE.manifest" ]; then
  rm -rf "$PRISTINE"
  echo "generating $N files into $PRISTINE" >&2
  python3 "$HERE/gen_small.py" generate --out "$PRISTINE" --n "$N" --per-dir "$PER_DIR" --seed "$SEED"
fi
W=$BENCH_DATA/scale-work
RESULTS=${RESULTS:-$BENCH_DATA/results/scale-$(date +%Y%m%d-%H%M%S)}
rm -rf "$W"; mkdir -p "$W" "$RESULTS"
trap 'rm -rf "$W"' EXIT
export DATA=$W/data REPO=$W/repo STATE=$W/state DEST=$W/restore BIN
export BENCH_PASSWORD=scale-bench-password

# The commands of each tool; the data always sits at $DATA so both see the same absolute paths.
setup_tool() {
  case $1 in
    spacetime-backup)
      export BACKUP_ROOT=$REPO BACKUP_ENCRYPTION_KEY=$STATE/backup.key BACKUP_LOG_DIR=$STATE/log
      export BACKUP_STATE_DIR=$STATE PLAYER_SAVES_DIR=$DATA CONFIG_DIRS= APP_DIR=
      t_init() { "$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null && "$BIN" init; }
      t_full() { "$BIN" backup full --no-progress; }
      t_incr() { "$BIN" backup incremental --no-progress; }
      t_restore() { "$BIN" restore latest --target "$DEST" --no-progress; }
      t_restored() { echo "$DEST/player_saves/$(basename "$DATA")"; }
      t_check() { "$BIN" check --read-data; } ;;
    restic)
      export RESTIC_REPOSITORY=$REPO RESTIC_PASSWORD=$BENCH_PASSWORD RESTIC_CACHE_DIR=$STATE/cache
      t_init() { restic init --repository-version 2; }
      t_full() { restic backup --compression auto "$DATA"; }
      t_incr() { restic backup --compression auto "$DATA"; }
      t_restore() { restic restore latest --target "$DEST"; }
      t_restored() { echo "$DEST$DATA"; }
      t_check() { restic check --read-data; } ;;
    *) echo "scale.sh: unknown tool $1 (spacetime-backup, restic)" >&2; exit 2 ;;
  esac
  export -f t_init t_full t_incr t_restore t_restored t_check  # /usr/bin/time runs them through bash -c
}

warm() { [ "$CACHE_MODE" = warm ] && python3 "$SHARED_BENCH/cachectl.py" warm "$@" >/dev/null 2>&1 || true; }
csv=$RESULTS/scale.csv md=$RESULTS/scale.md
echo "tool,step,wall_s,user_s,sys_s,rss_kb,rss_per_file_b,repo_bytes" >"$csv"
declare -A WALL RSS
step() {  # tool step command...
  local tool=$1 name=$2; shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$W/t" bash -c "$1" >"$W/out.$tool.$name" 2>&1 ||
    { echo "$tool $name failed:" >&2; tail -5 "$W/out.$tool.$name" >&2; exit 1; }
  read -r wall user sys rss <"$W/t"
  local repo_bytes; repo_bytes=$(du -sb "$REPO" | cut -f1)
  echo "$tool,$name,$wall,$user,$sys,$rss,$((rss * 1024 / N)),$repo_bytes" >>"$csv"
  WALL[$tool.$name]=$wall RSS[$tool.$name]=$rss
  echo "  $tool $name: ${wall} s, $((rss / 1024)) MB" >&2
}

for tool in "$@"; do
  echo "== $tool" >&2
  rm -rf "$DATA" "$REPO" "$STATE" "$DEST"; mkdir -p "$STATE" "$DEST"
  cp -a "$PRISTINE" "$DATA"; cp "$PRISTINE.manifest" "$DATA.manifest"
  setup_tool "$tool"
  t_init >/dev/null
  warm "$DATA"; step "$tool" full t_full
  warm "$DATA" "$REPO"; step "$tool" nochange t_incr
  python3 "$HERE/gen_small.py" mutate "$DATA" --pct "$PCT" >/dev/null
  warm "$DATA" "$REPO"; step "$tool" incr t_incr
  warm "$REPO"; step "$tool" restore t_restore
  python3 "$HERE/gen_small.py" verify "$(t_restored)" "$DATA.manifest" >&2
  if [ "${STRACE:-0}" = 1 ]; then
    rm -rf "$DEST"; mkdir -p "$DEST"
    strace -f -c -o "$RESULTS/strace.$tool" -e trace=openat,close,renameat,renameat2,dup,fstat,newfstatat,statx \
      bash -c t_restore >/dev/null 2>&1
  fi
  rm -rf "$DEST"
  warm "$REPO"; step "$tool" check t_check
done

{
  echo "# bench/scale.sh: N=$N PER_DIR=$PER_DIR SEED=$SEED PCT=$PCT CACHE_MODE=$CACHE_MODE, $(nproc) cores, $(date -u +%F)"
  echo
  echo "| tool | step | wall s | user s | sys s | peak RSS MB | RSS B/file | repo MB | limited by |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
  tail -n +2 "$csv" | while IFS=, read -r tool name wall user sys rss per repo; do
    lim=$(awk -v w="$wall" -v u="$user" -v s="$sys" -v c="$(nproc)" 'BEGIN { print (u + s >= 0.8 * w * c) ? "CPU" : "I/O or kernel" }')
    echo "| $tool | $name | $wall | $user | $sys | $((rss / 1024)) | $per | $((repo / 1048576)) | $lim |"
  done
  if [ -n "${WALL[restic.full]:-}" ] && [ -n "${WALL[spacetime-backup.full]:-}" ]; then
    echo
    verdict() { awk "BEGIN { exit !($1) }" && echo "PASS: $2" || echo "FAIL: $2"; }
    for s in full nochange incr restore check; do
      verdict "${RSS[spacetime-backup.$s]} <= 0.5 * ${RSS[restic.$s]}" \
        "peak RSS of $s $((RSS[spacetime-backup.$s] / 1024)) MB <= half of restic's $((RSS[restic.$s] / 1024)) MB"
    done
    verdict "${WALL[spacetime-backup.nochange]} * 10 <= ${WALL[restic.nochange]}" \
      "no-change backup ${WALL[spacetime-backup.nochange]} s <= restic's ${WALL[restic.nochange]} s / 10"
    for s in full restore; do
      verdict "${WALL[spacetime-backup.$s]} * 3 <= ${WALL[restic.$s]}" \
        "$s ${WALL[spacetime-backup.$s]} s <= restic's ${WALL[restic.$s]} s / 3"
    done
  fi
} | tee "$md"
