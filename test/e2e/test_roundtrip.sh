#!/usr/bin/env bash
# Full and incremental backups restore to trees identical to their sources, metadata included;
# an incremental after changing 5% of the files stores less than 10% of the full backup's bytes.
source "$(dirname "$0")/lib.sh" "$1"
make_data 400
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >"$W/full.json" || fail "full backup: $(cat "$W/full.json")"
[ "$(json "$W/full.json" "r['overall_success']")" = True ] || fail "full backup not successful"
[ "$(json "$W/full.json" "r['components']['database']['status']")" = skipped ] || fail "database should be skipped"
full_id=$(json "$W/full.json" "r['backup_id']")
full_stored=$(json "$W/full.json" "r['repository']['stored_bytes']")
cp -a "$W/src" "$W/src-at-full"
pass "full backup $full_id stored $full_stored bytes"

# Change 5% of the player saves (20 of 400), add one, remove one.
python3 - "$W/src/saves" <<'PY'
import os, sys
root = sys.argv[1]
files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs if f.startswith("player_"))
for p in files[::20]:
    with open(p, "ab") as f: f.write(b' {"changed": true}')
os.remove(files[1])
with open(os.path.join(root, "new_player.json"), "w") as f: f.write('{"new": 1}')
PY
repo_before=$(du -sb "$BACKUP_ROOT" | cut -f1)
"$BIN" backup incremental "/var/backups/db/$full_id" --no-progress >"$W/incr.json" || fail "incremental: $(cat "$W/incr.json")"
incr_id=$(json "$W/incr.json" "r['backup_id']")
[ "$(json "$W/incr.json" "r['parent']")" = "$full_id" ] || fail "incremental parent is not $full_id"
incr_stored=$(json "$W/incr.json" "r['repository']['stored_bytes']")
growth=$(( $(du -sb "$BACKUP_ROOT" | cut -f1) - repo_before ))
unchanged=$(json "$W/incr.json" "r['components']['player_saves']['unchanged_files']")
[ "$unchanged" -gt 350 ] || fail "only $unchanged unchanged files were skipped"
python3 -c "import sys; s,f,g=map(int,sys.argv[1:]); sys.exit(0 if s < f/10 and g < f/10 else 1)" "$incr_stored" "$full_stored" "$growth" \
  || fail "incremental stored $incr_stored bytes (repository grew $growth) vs full $full_stored: not under 10%"
pass "incremental $incr_id stored $incr_stored bytes (repo +$growth), $unchanged files not read"

# Each backup restores to exactly its source.
"$BIN" restore "$full_id" local --target "$W/r-full" --no-progress >"$W/rf.json" || fail "restore full: $(cat "$W/rf.json")"
same_tree "$W/src-at-full/saves" "$W/r-full/player_saves/saves" || fail "full restore differs (saves)"
same_tree "$W/src-at-full/server" "$W/r-full/configuration/server" || fail "full restore differs (server config)"
same_tree "$W/src-at-full/k8s" "$W/r-full/configuration/k8s" || fail "full restore differs (k8s)"
same_tree "$W/src-at-full/app" "$W/r-full/application/app" --ignore '*.pyc' __pycache__ .git || fail "full restore differs (app)"
[ ! -e "$W/r-full/application/app/.git" ] && [ ! -e "$W/r-full/application/app/scripts/run.pyc" ] || fail "excluded files were backed up"
json "$W/rf.json" "r['rto_seconds']" >/dev/null
"$BIN" restore "$incr_id" --target "$W/r-incr" --no-progress >"$W/ri.json" || fail "restore incremental"
same_tree "$W/src/saves" "$W/r-incr/player_saves/saves" || fail "incremental restore differs"
pass "full and incremental restores are identical to their sources"

# Restore order and component selection.
order=$(json "$W/rf.json" "','.join(r['restore_order'])")
[ "$order" = "configuration,player_saves,application" ] || fail "restore order is $order"
"$BIN" restore "$incr_id" --components player_saves --target "$W/r-one" --no-progress >"$W/r1.json"
[ "$(json "$W/r1.json" "list(r['components'])")" = "['player_saves']" ] || fail "--components not honoured"
[ ! -e "$W/r-one/configuration" ] || fail "--components restored more than asked"

# Restoring again over an existing tree replaces it in place.
"$BIN" restore "$full_id" --target "$W/r-incr" --components player_saves --no-progress >/dev/null || fail "restore over existing"
"$BIN" check --read-data >"$W/check.json" 2>/dev/null || fail "check after backups: $(cat "$W/check.json")"
pass "check --read-data passes"
