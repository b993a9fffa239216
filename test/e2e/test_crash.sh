#!/usr/bin/env bash
# kill -9 of a running backup leaves a valid repository: `check` passes, no snapshot points at
# missing data, the next backup succeeds and reuses the packs the killed one had indexed.
source "$(dirname "$0")/lib.sh" "$1"
make_data 20
head -c 600M /dev/urandom >"$W/src/saves/world/huge.bin"
"$BIN" init >/dev/null
"$BIN" backup full --no-progress --workers 1 >"$W/killed.json" 2>/dev/null &
pid=$!
# Kill right after the first periodic index object (written every 16 packs), mid-backup.
for _ in $(seq 1 600); do
  [ -n "$(find "$BACKUP_ROOT/index" -type f ! -name '.tmp-*' 2>/dev/null)" ] && break
  sleep 0.02
done
kill -9 $pid 2>/dev/null || fail "backup finished before it could be killed"
wait $pid 2>/dev/null || true
packs=$(find "$BACKUP_ROOT/data" -type f ! -name '.tmp-*' | wc -l)
[ "$packs" -ge 16 ] || fail "killed before the first index ($packs packs)"
pass "killed the backup after $packs packs"
[ -z "$(find "$BACKUP_ROOT/snapshots" -type f 2>/dev/null)" ] || fail "a killed backup left a snapshot"
"$BIN" check >"$W/check.json" 2>"$W/check.err" || fail "check after kill -9: $(cat "$W/check.err")"
pass "check passes after kill -9 ($(grep -c warning "$W/check.err" || true) warning(s))"
"$BIN" backup full --no-progress >"$W/next.json" || fail "next backup after kill -9: $(cat "$W/next.json")"
reused=$(json "$W/next.json" "r['repository']['reused_bytes']")
[ "$reused" -ge $((200 << 20)) ] || fail "the next backup reused only $reused bytes of the killed one's work"
"$BIN" check --read-data >/dev/null 2>&1 || fail "check --read-data after the next backup"
"$BIN" restore latest --target "$W/r" --no-progress >/dev/null || fail "restore after kill -9"
same_tree "$W/src/saves" "$W/r/player_saves/saves" || fail "restore after kill -9 differs"
pass "next backup succeeds, reuses $((reused >> 20)) MiB of the killed backup's packs, and restores"
