#!/usr/bin/env bash
# The README's first command, scripts/demo.sh, end to end: scratch PostgreSQL and Redis with game
# data, the guide's backup and restore commands, a disaster and a verified restore. It builds and
# uses build/spacetime-backup, so it runs once, with the release configuration's tests.
source "$(dirname "$0")/lib.sh" "$1"
ROOT=$(cd "$HERE/../.." && pwd)
if [ "$BIN" != "$(realpath "$ROOT/build/spacetime-backup" 2>/dev/null)" ]; then
  echo "ok: skipped here: the demo runs with the release configuration's tests (it uses build/)"
  exit 0
fi
start=$(date +%s)
bash "$ROOT/scripts/demo.sh" >"$W/demo.out" 2>"$W/demo.err" || fail "demo.sh failed: $(tail -20 "$W/demo.err")"
took=$(($(date +%s) - start))
grep -q '"overall_success": true' "$W/demo.out" || fail "no successful report in the demo's output"
grep -q "^restore of .*rto_seconds .*, overall_success True" "$W/demo.out" || fail "no restore summary: $(tail -5 "$W/demo.out")"
grep -q "demo finished: database, Redis and saves are back" "$W/demo.err" || fail "the demo did not verify the restore"
for c in database redis player_saves configuration application; do
  grep -q "\"$c\"" "$W/demo.out" || fail "the demo's reports never mention $c"
done
pass "demo: full, burst, incremental, disaster, verified restore in ${took}s; $(grep '^restore of' "$W/demo.out")"
