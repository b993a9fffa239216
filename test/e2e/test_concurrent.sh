#!/usr/bin/env bash
# Two backups started at once both succeed with distinct ids; the repository stays valid.
source "$(dirname "$0")/lib.sh" "$1"
make_data 300
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >"$W/a.json" 2>"$W/a.err" & a=$!
"$BIN" backup full --no-progress >"$W/b.json" 2>"$W/b.err" & b=$!
wait $a || fail "first concurrent backup: $(cat "$W/a.err")"
wait $b || fail "second concurrent backup: $(cat "$W/b.err")"
ida=$(json "$W/a.json" "r['backup_id']"); idb=$(json "$W/b.json" "r['backup_id']")
[ "$ida" != "$idb" ] || fail "both backups got id $ida"
"$BIN" check --read-data >/dev/null 2>"$W/c.err" || fail "check after concurrent backups: $(cat "$W/c.err")"
for id in "$ida" "$idb"; do
  "$BIN" restore "$id" --target "$W/r-$id" --no-progress >/dev/null || fail "restore $id"
  same_tree "$W/src/saves" "$W/r-$id/player_saves/saves" || fail "restore of $id differs"
done
[ -z "$(ls "$BACKUP_ROOT/locks")" ] || fail "locks left behind"
pass "concurrent backups $ida and $idb both succeeded and restore"
