#!/usr/bin/env bash
# Offsite history never follows local mistakes (issue 12), with Azurite as the cloud copy: a
# backup after a local rollback leaves the copy's snapshots; `replicate --delete` refuses a source
# with fewer snapshots unless --force; retention at the copy runs there, under its own lock; a
# rotated key stops opening the copy too.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/../services/lib.sh"
trap 'service_stop_all; rm -rf "$W"' EXIT
service_start azure "$W/svc"
make_data 50
unset APP_DIR
"$BIN" init >/dev/null 2>&1 || fail "init"
for i in 1 2; do
  echo "change $i" >"$W/src/saves/change.txt"
  "$BIN" backup full --no-progress >"$W/b$i.json" 2>/dev/null || fail "backup $i: $(cat "$W/b$i.json")"
  sleep 1
done
n_snaps() { "$BIN" snapshots "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
[ "$(n_snaps azure)" = 2 ] || fail "azure does not have both backups"

# 1. The local repository loses a snapshot (a rollback); the next backup must not delete it offsite.
rm "$(find "$BACKUP_ROOT/snapshots" -type f | head -1)"
"$BIN" backup full --no-progress >"$W/b3.json" 2>/dev/null || fail "backup after the rollback: $(cat "$W/b3.json")"
[ "$(json "$W/b3.json" "r['locations']['azure_secondary'].get('objects_deleted', 0)")" = 0 ] ||
  fail "the backup deleted objects at azure: $(cat "$W/b3.json")"
[ "$(n_snaps local)" = 2 ] || fail "local should hold 2 snapshots"
[ "$(n_snaps azure)" = 3 ] || fail "azure lost history after a local rollback: $(n_snaps azure) snapshots"
pass "backup after a local rollback left azure's history (3 snapshots there, 2 local)"

# 2. replicate --delete refuses while the source holds fewer snapshots; --force only with --delete.
if "$BIN" replicate --to azure --delete >"$W/rd.json" 2>"$W/rd.err"; then fail "replicate --delete was not refused"; fi
grep -q "fewer than" "$W/rd.json" || fail "refusal does not say why: $(cat "$W/rd.json" "$W/rd.err")"
[ "$(n_snaps azure)" = 3 ] || fail "refused replicate --delete still deleted"
if "$BIN" replicate --to azure --force >/dev/null 2>"$W/rf.err"; then fail "--force without --delete accepted"; fi
grep -q -- "--force only applies with --delete" "$W/rf.err" || fail "--force error: $(cat "$W/rf.err")"
pass "replicate --delete refused with fewer snapshots in the source; --force needs --delete"

# 3. Retention at the copy: its own snapshots, its own lock, then check there.
"$BIN" forget --keep-last 1 --prune azure >"$W/fa.json" 2>"$W/fa.err" || fail "forget azure: $(cat "$W/fa.err")"
[ "$(n_snaps azure)" = 1 ] || fail "forget at azure kept $(n_snaps azure)"
[ "$(n_snaps local)" = 2 ] || fail "forget at azure touched local"
"$BIN" check azure --read-data >/dev/null 2>&1 || fail "check --read-data azure after prune there"
"$BIN" check --read-data >/dev/null 2>&1 || fail "check --read-data local"
pass "forget --prune azure applies retention at azure only; check --read-data passes on both"

# 4. Key rotation reaches the copy: replication only adds, so the old key must be removed there too.
"$BIN" key rotate --new-key-file "$W/key2" >"$W/rot.json" 2>"$W/rot.err" || fail "key rotate: $(cat "$W/rot.json" "$W/rot.err")"
[ "$(json "$W/rot.json" "r['locations']['azure_secondary']['status']")" = ok ] || fail "rotation at azure: $(cat "$W/rot.json")"
if "$BIN" snapshots azure >/dev/null 2>&1; then fail "the old key still opens azure after rotation"; fi
export BACKUP_ENCRYPTION_KEY=$W/key2
"$BIN" check azure --read-data >/dev/null 2>&1 || fail "the new key does not open azure"
"$BIN" backup full --no-progress >/dev/null 2>&1 || fail "backup with the new key"
"$BIN" check azure --read-data >/dev/null 2>&1 || fail "check --read-data azure after rotation"
pass "key rotate: the old key no longer opens azure, the new one does"
