#!/usr/bin/env bash
# kill -9 of a running backup leaves a valid repository: `check` passes and the next backup succeeds.
source "$(dirname "$0")/lib.sh" "$1"
make_data 20
head -c 400M /dev/urandom >"$W/src/saves/world/huge.bin"
"$BIN" init >/dev/null
BACKUP_COMPRESSION=19 "$BIN" backup full --no-progress --workers 1 >"$W/killed.json" 2>/dev/null &
pid=$!
# Kill once some packs are written, well before the end.
for _ in $(seq 1 200); do
  [ "$(find "$BACKUP_ROOT/data" -type f 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.05
done
kill -9 $pid 2>/dev/null || fail "backup finished before it could be killed"
wait $pid 2>/dev/null || true
packs=$(find "$BACKUP_ROOT/data" -type f | wc -l)
pass "killed the backup after $packs pack(s)"
[ -z "$(find "$BACKUP_ROOT/snapshots" -type f 2>/dev/null)" ] || fail "a killed backup left a snapshot"
"$BIN" check >"$W/check.json" 2>"$W/check.err" || fail "check after kill -9: $(cat "$W/check.err")"
pass "check passes after kill -9 ($(grep -c warning "$W/check.err" || true) warning(s))"
rm "$W/src/saves/world/huge.bin"
"$BIN" backup full --no-progress >"$W/next.json" || fail "next backup after kill -9: $(cat "$W/next.json")"
"$BIN" check --read-data >/dev/null 2>&1 || fail "check --read-data after the next backup"
"$BIN" restore latest --target "$W/r" --no-progress >/dev/null || fail "restore after kill -9"
same_tree "$W/src/saves" "$W/r/player_saves/saves" || fail "restore after kill -9 differs"
pass "next backup succeeds and restores"
