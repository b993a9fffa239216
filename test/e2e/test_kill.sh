#!/usr/bin/env bash
# kill -9 of `backup`, `prune` and `replicate` at KILL_POINTS random moments each (default 5; run
# once by hand with KILL_POINTS=50): afterwards `check --read-data` passes on the location the
# command wrote, no snapshot references a missing blob (check verifies every referenced blob is
# indexed and its pack present and intact), no snapshot is lost, and the next run succeeds.
# Replicate writes to Azurite (test/services). KILL_SEED makes a run repeatable; KILL_COMMANDS
# picks some of "backup prune replicate" (default all three).
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/../services/lib.sh"
trap 'service_stop_all; rm -rf "$W"' EXIT
POINTS=${KILL_POINTS:-5}
COMMANDS=${KILL_COMMANDS:-backup prune replicate}
SEED=${KILL_SEED:-$$}
RANDOM=$SEED
echo "kill points per command: $POINTS ($COMMANDS), seed $SEED"
service_start azure "$W/svc"
make_data 100
unset APP_DIR
damaged=0
lost=0
failed_next=0

# Runs "$@" with Azure configured only when AZ=1 (backups then leave the copy to `replicate`).
run() {
  if [ "${AZ:-0}" = 1 ]; then "$@"; else env -u BACKUP_AZURE_CONTAINER "$@"; fi
}
count_snaps() { run "$BIN" snapshots "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# A uniform random moment in [0, $1] seconds.
random_moment() { awk -v s="$RANDOM" -v t="$1" 'BEGIN { srand(s); printf "%.3f", rand() * t }'; }
# new_data: a few MiB of new content, so that every backup has packs to write (replacing the
# last one: the source stays small however many points are run).
new_data() {
  rm -f "$W"/src/saves/world/new-*.bin
  head -c $((6 << 20)) /dev/urandom >"$W/src/saves/world/new-$RANDOM$RANDOM.bin"
}
wanted() { [[ " $COMMANDS " == *" $1 "* ]]; }
elapsed() { python3 -c "import time; print(time.time())"; }

# kill_at LOCATION SECONDS CMD...: starts the command, kills it with SIGKILL after SECONDS (if it is
# still running), then checks LOCATION and runs the command again to completion.
kill_at() {
  local loc=$1 at=$2
  shift 2
  local before after pid
  before=$(count_snaps "$loc")
  run "$@" >"$W/killed.out" 2>&1 &
  pid=$!
  sleep "$at"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if ! run "$BIN" check "$loc" --read-data >"$W/check.out" 2>&1; then
    damaged=$((damaged + 1))
    echo "DAMAGED after killing '$*' at ${at}s: $(tail -5 "$W/check.out")" >&2
  fi
  after=$(count_snaps "$loc")
  # backup and replicate only add snapshots; prune never removes one.
  if [ "$after" -lt "$before" ]; then
    lost=$((lost + before - after))
    echo "LOST $((before - after)) snapshot(s) after killing '$*' at ${at}s" >&2
  fi
  if ! run "$@" >"$W/next.out" 2>&1; then
    failed_next=$((failed_next + 1))
    echo "NEXT RUN FAILED after killing '$*' at ${at}s: $(tail -5 "$W/next.out")" >&2
  fi
}

"$BIN" init >/dev/null
t0=$(elapsed)
new_data
"$BIN" backup full --no-progress >/dev/null 2>&1 || fail "first backup"
AZ=1 run "$BIN" replicate --to azure >/dev/null 2>&1 || fail "first replicate"
backup_time=$(python3 -c "print(max(0.3, $(elapsed) - $t0))")

# 1. backup
wanted backup && for ((i = 0; i < POINTS; i++)); do
  new_data
  kill_at local "$(random_moment "$backup_time")" "$BIN" backup full --no-progress
done
wanted backup && pass "backup killed at $POINTS random points (within ${backup_time}s)"

# 2. prune: each time the oldest backups are forgotten first, so there are packs to delete and
#    packs to repack.
t0=$(elapsed)
"$BIN" forget --keep-last 2 >/dev/null 2>&1 || fail "forget"
"$BIN" prune --repack-unused 0 >/dev/null 2>&1 || fail "prune"
prune_time=$(python3 -c "print(max(0.3, $(elapsed) - $t0))")
wanted prune && for ((i = 0; i < POINTS; i++)); do
  new_data
  "$BIN" backup full --no-progress >/dev/null 2>&1 || fail "backup before prune $i"
  "$BIN" forget --keep-last 2 >/dev/null 2>&1 || fail "forget before prune $i"
  kill_at local "$(random_moment "$prune_time")" "$BIN" prune --repack-unused 0
done
wanted prune && pass "prune killed at $POINTS random points (within ${prune_time}s)"

# 3. replicate to Azure, with new backups to copy each time.
t0=$(elapsed)
new_data
"$BIN" backup full --no-progress >/dev/null 2>&1 || fail "backup before replicate"
AZ=1 run "$BIN" replicate --to azure >/dev/null 2>&1 || fail "replicate"
replicate_time=$(python3 -c "print(max(0.3, $(elapsed) - $t0))")
wanted replicate && for ((i = 0; i < POINTS; i++)); do
  new_data
  "$BIN" backup full --no-progress >/dev/null 2>&1 || fail "backup before replicate $i"
  AZ=1 kill_at azure "$(random_moment "$replicate_time")" "$BIN" replicate --to azure
done
wanted replicate && pass "replicate killed at $POINTS random points (within ${replicate_time}s)"

echo "figures: kill points $(($(wc -w <<<"$COMMANDS") * POINTS)), damaged repositories $damaged, lost snapshots $lost, failed next runs $failed_next"
[ "$damaged" = 0 ] && [ "$lost" = 0 ] && [ "$failed_next" = 0 ] || fail "damage after kill -9 (seed $SEED)"
"$BIN" check --read-data >/dev/null 2>&1 || fail "final check local"
AZ=1 run "$BIN" check azure --read-data >/dev/null 2>&1 || fail "final check azure"
pass "no damaged repository, no lost snapshot, every next run succeeded"
