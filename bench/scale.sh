#!/usr/bin/env bash
# Many small files (issue 17), in one run. Parts, each in fresh repositories:
#   spacetime-backup, restic  per tool: init, full, no-change, incremental after changing PCT% of the
#                             files, restore into an empty directory (verified against the generator's
#                             manifest), check
#   two-hosts                 two spacetime-backup processes, each with its own hostname (a UTS
#                             namespace) and BACKUP_STATE_DIR, back up the two halves of the files into
#                             one repository at once; then check --read-data, and each snapshot is
#                             restored and verified against its half of the manifest
#   synthetic                 bench/synthetic_backup (a generated tree that exists nowhere on disk):
#                             full and no-change backups of SYNTH_BASE and SYNTH_N entries, then
#                             check --read-data; its file contents come from a pool of SYNTH_BODIES
#                             distinct bodies, so what grows is the walk and the tree, not the index
# Each step under /usr/bin/time (the synthetic steps: getrusage in the tool): wall, user, sys, peak
# RSS, RSS per file, repository bytes; the table ends with the issue's PASS/FAIL lines.
#   bench/scale.sh [PART ...]        default: spacetime-backup restic two-hosts synthetic
#   N=1000000 PER_DIR=1000 SEED=1 PCT=1 BENCH_DATA=/tmp/bench-data CACHE_MODE=warm|none
#   SYNTH_N=10000000 SYNTH_BASE=SYNTH_N/10 SYNTH_BODIES=4096 SYNTH_CHECK=1
#   BIN=path/to/spacetime-backup (default: a release build; synthetic_backup is built beside it)
#   STRACE=1 (restore again under strace -c)
# Needs about 36 GB free per million files (the pristine copy, and per tool and for two-hosts a work
# copy, a restore and a repository: nothing is deleted before the last restore, see settle below);
# the synthetic part needs no files and little disk. What it writes under $BENCH_DATA/scale-work
# is removed on exit, the pristine copy is kept for the next run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
N=${N:-1000000} PER_DIR=${PER_DIR:-1000} SEED=${SEED:-1} PCT=${PCT:-1} CACHE_MODE=${CACHE_MODE:-warm}
SYNTH_N=${SYNTH_N:-10000000} SYNTH_BODIES=${SYNTH_BODIES:-4096} SYNTH_CHECK=${SYNTH_CHECK:-1}
SYNTH_BASE=${SYNTH_BASE:-$((SYNTH_N / 10))}
BENCH_DATA=${BENCH_DATA:-/tmp/bench-data}
[ $# -eq 0 ] && set -- spacetime-backup restic two-hosts synthetic
TOOLS=() DO_TWO=0 DO_SYNTH=0
for part in "$@"; do
  case $part in
    spacetime-backup | restic) TOOLS+=("$part") ;;
    two-hosts) DO_TWO=1 ;;
    synthetic) DO_SYNTH=1 ;;
    *) echo "scale.sh: unknown part $part (spacetime-backup, restic, two-hosts, synthetic)" >&2; exit 2 ;;
  esac
done
. "$HERE/lib.sh"

"$ROOT/scripts/install-deps.sh" --bench >/dev/null
bench_binary
NEED_FILES=$(( ${#TOOLS[@]} > 0 || DO_TWO ))
mkdir -p "$BENCH_DATA"
if [ "$NEED_FILES" = 1 ]; then
  need_kb=$(( (N / 1000) * 36 * 1024 ))
  free_kb=$(df -Pk "$BENCH_DATA" | awk 'NR==2 {print $4}')
  [ "$free_kb" -ge "$need_kb" ] ||
    { echo "scale.sh: needs ~$((need_kb / 1048576)) GB free in $BENCH_DATA, has $((free_kb / 1048576)) GB" >&2; exit 2; }
fi

# ext4 without a journal (the root file system of the machines this was measured on) skips, when it
# allocates an inode, every inode freed in the last 60 s (360 s while the inode's table block is
# dirty), stepping past them one at a time: a restore started minutes after a million files were
# deleted spent 3x the system time creating its files, whichever tool ran it. So nothing is deleted
# between the first copy of the data and the last restore, and a run first waits out the deletions
# of the run before it (their time is kept in $STAMP).
STAMP=$BENCH_DATA/.scale-deleted
remove() {  # rm -rf, remembering when something was deleted
  local p gone=0
  for p; do [ -e "$p" ] && gone=1; done
  rm -rf "$@"
  [ "$gone" = 0 ] || touch "$STAMP"
}
settle() {
  [ -f "$STAMP" ] || return 0
  local age=$(($(date +%s) - $(stat -c %Y "$STAMP")))
  if [ "$age" -lt 400 ]; then
    echo "waiting $((400 - age)) s for the inodes freed $age s ago to age (see settle in bench/scale.sh)" >&2
    sleep $((400 - age))
  fi
}
PRISTINE=$BENCH_DATA/scale-n$N-p$PER_DIR-s$SEED
if [ "$NEED_FILES" = 1 ] && [ ! -f "$PRISTINE.manifest" ]; then
  remove "$PRISTINE"
  echo "generating $N files into $PRISTINE" >&2
  python3 "$HERE/gen_small.py" generate --out "$PRISTINE" --n "$N" --per-dir "$PER_DIR" --seed "$SEED"
fi
W=$BENCH_DATA/scale-work
RESULTS=${RESULTS:-$BENCH_DATA/results/scale-$(date +%Y%m%d-%H%M%S)}
[ -e "$W" ] && remove "$W"
mkdir -p "$W" "$RESULTS"
trap 'remove "$W"' EXIT
[ "$NEED_FILES" = 1 ] && settle
export BIN BENCH_PASSWORD=scale-bench-password

# The commands of each tool, on its own copy of the data at $DATA.
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
  esac
  export -f t_init t_full t_incr t_restore t_restored t_check  # /usr/bin/time runs them through bash -c
}

warm() { [ "$CACHE_MODE" = warm ] && python3 "$SHARED_BENCH/cachectl.py" warm "$@" >/dev/null 2>&1 || true; }
csv=$RESULTS/scale.csv md=$RESULTS/scale.md notes=$W/notes
echo "tool,step,wall_s,user_s,sys_s,rss_kb,rss_per_file_b,repo_bytes" >"$csv"
: >"$notes"
declare -A WALL RSS
record() {  # tool step wall user sys rss_kb files repo_dir
  local repo_bytes; repo_bytes=$(du -sb "$8" | cut -f1)
  echo "$1,$2,$3,$4,$5,$6,$(($6 * 1024 / $7)),$repo_bytes" >>"$csv"
  WALL[$1.$2]=$3 RSS[$1.$2]=$6
  echo "  $1 $2: ${3} s, $(($6 / 1024)) MB" >&2
}
step() {  # tool step command...
  local tool=$1 name=$2; shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$W/t" bash -c "$1" >"$W/out.$tool.$name" 2>&1 ||
    { echo "$tool $name failed:" >&2; tail -5 "$W/out.$tool.$name" >&2; exit 1; }
  read -r wall user sys rss <"$W/t"
  record "$tool" "$name" "$wall" "$user" "$sys" "$rss" "$N" "$REPO"
}

for tool in ${TOOLS[@]+"${TOOLS[@]}"}; do
  echo "== $tool" >&2
  export DATA=$W/$tool/data REPO=$W/$tool/repo STATE=$W/$tool/state DEST=$W/$tool/restore
  mkdir -p "$STATE" "$DEST"
  cp -a "$PRISTINE" "$DATA"; cp "$PRISTINE.manifest" "$DATA.manifest"
  setup_tool "$tool"
  t_init >/dev/null
  warm "$DATA"; step "$tool" full t_full
  warm "$DATA" "$REPO"; step "$tool" nochange t_incr
  python3 "$HERE/gen_small.py" mutate "$DATA" --pct "$PCT" >/dev/null
  warm "$DATA" "$REPO"; step "$tool" incr t_incr
  warm "$REPO"; step "$tool" restore t_restore
  python3 "$HERE/gen_small.py" verify "$(t_restored)" "$DATA.manifest" >&2
  warm "$REPO"; step "$tool" check t_check
done
if [ "${STRACE:-0}" = 1 ]; then  # after every measured restore: this one deletes
  for tool in ${TOOLS[@]+"${TOOLS[@]}"}; do
    export DATA=$W/$tool/data REPO=$W/$tool/repo STATE=$W/$tool/state DEST=$W/$tool/restore
    setup_tool "$tool"
    rm -rf "$DEST"; mkdir -p "$DEST"
    strace -f -c -o "$RESULTS/strace.$tool" -e trace=openat,close,renameat,renameat2,dup,fstat,newfstatat,statx \
      bash -c t_restore >/dev/null 2>&1
  done
fi

# spacetime-backup's settings for one repository under directory $1 (state, logs and key there too).
stb_env() {
  export BACKUP_ROOT=$1/repo BACKUP_ENCRYPTION_KEY=$1/backup.key BACKUP_STATE_DIR=$1/state BACKUP_LOG_DIR=$1/log
  export PLAYER_SAVES_DIR= CONFIG_DIRS= APP_DIR=
}
stb_init() { mkdir -p "$1"; (stb_env "$1" && "$BIN" key generate "$BACKUP_ENCRYPTION_KEY" >/dev/null 2>&1 && "$BIN" init >/dev/null); }

if [ "$DO_TWO" = 1 ]; then
  echo "== two hosts, one repository" >&2
  T=$W/two
  stb_init "$T"
  # Hosts a and b: the first and second half of the directories, hard-linked from the pristine copy
  # (only read), each with its part of the manifest.
  ndirs=$(( (N + PER_DIR - 1) / PER_DIR )) half=$(( (N + PER_DIR - 1) / PER_DIR / 2 ))
  [ "$half" -ge 1 ] || { echo "scale.sh: two-hosts needs N >= 2 * PER_DIR" >&2; exit 2; }
  mkdir -p "$T/a/saves" "$T/b/saves"
  for ((d = 0; d < ndirs; d++)); do
    name=$(printf 'd%04d' "$d")
    cp -al "$PRISTINE/$name" "$T/$([ "$d" -lt "$half" ] && echo a || echo b)/saves/"
  done
  awk -v half="$half" -v a="$T/a.manifest" -v b="$T/b.manifest" \
    'NR == 1 { print > a; print > b; next } { d = substr($1, 2, index($1, "/") - 2) + 0; print > (d < half ? a : b) }' \
    "$PRISTINE.manifest"
  files_a=$(($(wc -l <"$T/a.manifest") - 1)) files_b=$(($(wc -l <"$T/b.manifest") - 1))
  # Each process in a UTS namespace of its own, so the repository sees two hostnames.
  if unshare --uts true 2>/dev/null; then UTS=(unshare --uts)
  elif unshare -r -u true 2>/dev/null; then UTS=(unshare -r -u)
  else UTS=(); echo "scale.sh: cannot unshare the UTS namespace: both hosts keep this hostname" >&2; fi
  host_backup() {  # a | b
    (stb_env "$T"
     export BACKUP_STATE_DIR=$T/state-$1 BACKUP_LOG_DIR=$T/log-$1 PLAYER_SAVES_DIR=$T/$1/saves
     ${UTS[@]+"${UTS[@]}"} sh -c '[ -z "$1" ] || hostname "$1"; shift; exec "$@"' _ \
       "$([ ${#UTS[@]} -gt 0 ] && echo "bench-host-$1")" \
       /usr/bin/time -f "%e %U %S %M" -o "$T/t.$1" "$BIN" backup full --no-progress >"$T/out.$1" 2>&1)
  }
  warm "$T/a" "$T/b"
  t0=$(date +%s.%N)
  host_backup a & pa=$!
  host_backup b & pb=$!
  rc=0; wait "$pa" || rc=1; wait "$pb" || rc=1
  both=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  for h in a b; do [ "$rc" = 0 ] || { echo "host $h:" >&2; tail -5 "$T/out.$h" >&2; }; done
  [ "$rc" = 0 ] || { echo "two-hosts: a backup failed" >&2; exit 1; }
  read -r wa ua sa ra <"$T/t.a"; read -r wb ub sb rb <"$T/t.b"
  record two-hosts "host-a full" "$wa" "$ua" "$sa" "$ra" "$files_a" "$T/repo"
  record two-hosts "host-b full" "$wb" "$ub" "$sb" "$rb" "$files_b" "$T/repo"
  record two-hosts "both at once" "$both" "$(awk "BEGIN { print $ua + $ub }")" "$(awk "BEGIN { print $sa + $sb }")" \
    "$((ra > rb ? ra : rb))" "$N" "$T/repo"
  (stb_env "$T" && "$BIN" snapshots --json) >"$T/snapshots.json"
  # The backup id each host's snapshot got.
  for h in a b; do
    id=$(jq -r --arg h "$(grep -m1 -o '"backup_id": *"[0-9_]*"' "$T/out.$h" | grep -o '[0-9_]\{15\}')" \
      '.. | objects | select(.backup_id? == $h) | .backup_id' "$T/snapshots.json" | head -1)
    [ -n "$id" ] || { echo "two-hosts: host $h's snapshot is not listed" >&2; exit 1; }
    eval "ID_$h=$id"
  done
  hosts=$(jq -r '[.. | objects | select(.backup_id? and .hostname?) | .hostname] | unique | join(", ")' "$T/snapshots.json")
  echo "two hosts: snapshots $ID_a and $ID_b listed, hostnames: $hosts" | tee -a "$notes" >&2
  warm "$T/repo"
  step_two() {  # name files command...
    local name=$1 files=$2; shift 2
    (stb_env "$T" && /usr/bin/time -f "%e %U %S %M" -o "$T/t" "$@" >"$T/out.step" 2>&1) ||
      { echo "two-hosts $name failed:" >&2; tail -5 "$T/out.step" >&2; exit 1; }
    read -r wall user sys rss <"$T/t"
    record two-hosts "$name" "$wall" "$user" "$sys" "$rss" "$files" "$T/repo"
  }
  step_two check "$N" "$BIN" check --read-data
  for h in a b; do
    id_var=ID_$h files_var=files_$h
    step_two "restore $h" "${!files_var}" "$BIN" restore "${!id_var}" --target "$T/restore-$h" --no-progress
    python3 "$HERE/gen_small.py" verify "$T/restore-$h/player_saves/saves" "$T/$h.manifest" >&2
  done
fi

if [ "$DO_SYNTH" = 1 ]; then
  SYNTH_BIN=${SYNTH_BIN:-$(dirname "$BIN")/bench/synthetic_backup}
  if [ -f "$(dirname "$BIN")/build.ninja" ]; then
    ninja -C "$(dirname "$BIN")" synthetic_backup >/dev/null  # beside BIN, from the same sources
  fi
  [ -x "$SYNTH_BIN" ] || { echo "scale.sh: no $SYNTH_BIN (set SYNTH_BIN)" >&2; exit 2; }
  for n in "$SYNTH_BASE" "$SYNTH_N"; do
    echo "== synthetic, $n entries" >&2
    S=$W/synth-$n
    stb_init "$S"
    (stb_env "$S" && "$SYNTH_BIN" --entries "$n" --per-dir "$PER_DIR" --seed "$SEED" --bodies "$SYNTH_BODIES") \
      >"$S/out" || { echo "synthetic $n failed" >&2; exit 1; }
    head -1 "$S/out" | sed 's/^# //' >>"$notes"
    while read -r line; do
      kv() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
      record "synthetic-$n" "$(kv step)" "$(kv wall_s)" "$(kv user_s)" "$(kv sys_s)" "$(kv peak_rss_kb)" "$n" "$S/repo"
      echo "synthetic $n $(kv step): tree $(kv tree_raw_bytes) bytes ($(kv tree_stored_bytes) stored) in" \
        "$(kv tree_blobs) blobs, $(kv unique_data_blobs) unique data blobs, $(kv unchanged) files unchanged" >>"$notes"
    done < <(grep '^step=' "$S/out")
    if [ "$SYNTH_CHECK" = 1 ]; then
      (stb_env "$S" && /usr/bin/time -f "%e %U %S %M" -o "$S/t" "$BIN" check --read-data >"$S/out.check" 2>&1) ||
        { echo "synthetic $n check failed:" >&2; tail -5 "$S/out.check" >&2; exit 1; }
      read -r wall user sys rss <"$S/t"
      record "synthetic-$n" check "$wall" "$user" "$sys" "$rss" "$n" "$S/repo"
    fi
    remove "$S"
  done
fi

{
  echo "# bench/scale.sh: N=$N PER_DIR=$PER_DIR SEED=$SEED PCT=$PCT CACHE_MODE=$CACHE_MODE$(
    [ "$DO_SYNTH" = 1 ] && echo " SYNTH_BASE=$SYNTH_BASE SYNTH_N=$SYNTH_N SYNTH_BODIES=$SYNTH_BODIES"), $(nproc) cores, $(date -u +%F)"
  echo
  echo "| tool | step | wall s | user s | sys s | peak RSS MB | RSS B/file | repo MB | limited by |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
  tail -n +2 "$csv" | while IFS=, read -r tool name wall user sys rss per repo; do
    lim=$(awk -v w="$wall" -v u="$user" -v s="$sys" -v c="$(nproc)" 'BEGIN { print (u + s >= 0.8 * w * c) ? "CPU" : "I/O or kernel" }')
    echo "| $tool | $name | $wall | $user | $sys | $((rss / 1024)) | $per | $((repo / 1048576)) | $lim |"
  done
  if [ -s "$notes" ]; then
    echo
    sed 's/^/- /' "$notes"
  fi
  verdict() { awk "BEGIN { exit !($1) }" && echo "PASS: $2" || echo "FAIL: $2"; }
  if [ -n "${WALL[restic.full]:-}" ] && [ -n "${WALL[spacetime-backup.full]:-}" ]; then
    echo
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
  if [ "$DO_SYNTH" = 1 ]; then
    echo
    for s in full nochange $([ "$SYNTH_CHECK" = 1 ] && echo check); do
      big=${RSS[synthetic-$SYNTH_N.$s]} small=${RSS[synthetic-$SYNTH_BASE.$s]}
      ratio=$(awk "BEGIN { printf \"%.2f\", $big / $small }")
      verdict "$big <= 2 * $small" "synthetic $s: peak RSS at $SYNTH_N entries $((big / 1024)) MB <= 2x the $((small / 1024)) MB at $SYNTH_BASE (ratio $ratio)"
    done
  fi
} | tee "$md"
