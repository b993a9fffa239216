#!/usr/bin/env bash
# The operations guide's Python entry points, run as the guide writes them (backup_manager.py
# full|incremental PATH, restore_manager.py ID LOCATION, backup_monitoring.py, and scenario 3's
# `from restore_manager import RestoreManager`): same reports and exit statuses as the binary.
source "$(dirname "$0")/lib.sh" "$1"
ROOT=$(cd "$HERE/../.." && pwd)
OPS=$ROOT/scripts/operations
export SPACETIME_BACKUP_BIN=$BIN
PY=$(command -v python || command -v python3)
mon=""
cleanup() { [ -z "$mon" ] || kill "$mon" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
make_data 40
"$BIN" init >/dev/null

# Backups, as the guide writes them.
"$PY" "$OPS/backup/backup_manager.py" full >"$W/full.json" || fail "backup_manager.py full: $(cat "$W/full.json")"
id1=$(json "$W/full.json" "r['backup_id']")
[ "$(json "$W/full.json" "r['overall_success']")" = True ] || fail "full backup report"
[ "$(json "$W/full.json" "r['components']['player_saves']['file_count']")" -gt 40 ] || fail "full backup file_count"
echo '{"player": 0, "changed": true}' >"$PLAYER_SAVES_DIR/00/player_0.json"
"$PY" "$OPS/backup/backup_manager.py" incremental "/var/backups/db/$id1" >"$W/incr.json" ||
  fail "backup_manager.py incremental PATH: $(cat "$W/incr.json")"
id2=$(json "$W/incr.json" "r['backup_id']")
[ "$(json "$W/incr.json" "r['parent']")" = "$id1" ] || fail "the incremental's parent is not $id1: $(json "$W/incr.json" "r.get('parent')")"
pass "backup_manager.py full ($id1) and incremental /var/backups/db/$id1 ($id2)"
for args in "" "weekly" "full extra" "incremental a b"; do
  rc=0
  # shellcheck disable=SC2086
  "$PY" "$OPS/backup/backup_manager.py" $args >/dev/null 2>"$W/usage.err" || rc=$?
  [ "$rc" = 2 ] && grep -q "usage:" "$W/usage.err" || fail "backup_manager.py '$args': exit $rc"
done
pass "backup_manager.py: bad arguments exit 2 with usage"

# Full system restore from local after the saves are lost.
cp -a "$W/src" "$W/expected"
rm -rf "$PLAYER_SAVES_DIR"
"$PY" "$OPS/restore/restore_manager.py" "$id2" local >"$W/restore.json" || fail "restore_manager.py: $(cat "$W/restore.json")"
[ "$(json "$W/restore.json" "r['restore_location']")" = local ] || fail "restore_location"
json "$W/restore.json" "r['rto_seconds']" >/dev/null || fail "no rto_seconds"
same_tree "$W/expected/saves" "$PLAYER_SAVES_DIR" || fail "restored saves differ"
pass "restore_manager.py $id2 local: saves back, rto_seconds $(json "$W/restore.json" "r['rto_seconds']")"
rc=0
"$PY" "$OPS/restore/restore_manager.py" 19990101_000000 local >"$W/missing.json" 2>"$W/missing.err" || rc=$?
rc_bin=0
"$BIN" restore 19990101_000000 local >/dev/null 2>&1 || rc_bin=$?
[ "$rc" != 0 ] && [ "$rc" = "$rc_bin" ] || fail "restore of a missing backup: script exit $rc, binary $rc_bin"
rc=0
"$PY" "$OPS/restore/restore_manager.py" "$id2" ftp >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unknown location: exit $rc"
pass "restore_manager.py: a missing backup exits $rc_bin like the binary; an unknown location exits 2"

# Scenario 3: one component through the module API.
echo corrupted >"$PLAYER_SAVES_DIR/00/player_0.json"
cd "$OPS/restore"
"$PY" - "$id2" <<'PY' || fail "RestoreManager.restore_player_saves"
import sys
from restore_manager import RestoreManager
manager = RestoreManager(sys.argv[1], "local")
assert manager.restore_player_saves("/var/backups/player_saves/" + sys.argv[1]) is True, manager.last_report
assert list(manager.last_report["components"]) == ["player_saves"], manager.last_report
try:
    manager.restore_player_saves("/var/backups/player_saves/20000101_000000")
    raise SystemExit("a path naming another backup was accepted")
except ValueError:
    pass
assert RestoreManager("19990101_000000", "local").restore_redis() is False
PY
cd "$W"
same_tree "$W/expected/saves" "$PLAYER_SAVES_DIR" || fail "saves after RestoreManager differ"
pass "scenario 3: RestoreManager(id, 'local').restore_player_saves(path) restored the saves; a wrong path is refused"

# backup_monitoring.py: the exporter on the given address.
port=$(free_port)
"$PY" "$OPS/backup/backup_monitoring.py" --listen "127.0.0.1:$port" 2>"$W/mon.err" &
mon=$!
for _ in $(seq 1 100); do
  python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:%s/metrics' % sys.argv[1], timeout=1)" "$port" 2>/dev/null && break
  sleep 0.1
done
python3 -c "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:%s/metrics' % sys.argv[1], timeout=5).read().decode())" "$port" >"$W/metrics.txt" ||
  fail "backup_monitoring.py did not serve /metrics: $(cat "$W/mon.err")"
grep -q '^backup_last_success_timestamp_seconds{component="player_saves"' "$W/metrics.txt" || fail "metrics: $(head -5 "$W/metrics.txt")"
kill "$mon"
wait "$mon" 2>/dev/null || true
mon=""
pass "backup_monitoring.py serves the guide's metrics"
"$BIN" check --read-data >/dev/null 2>"$W/c.err" || fail "check: $(cat "$W/c.err")"
pass "repository valid"
