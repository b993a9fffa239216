#!/usr/bin/env bash
# A failover, then `restore --latest` (issue 16: "a failover followed by --latest recovers the new
# timeline"): a primary archiving through wal-push and a streaming standby (pg_basebackup -R, the
# same archive_command, archive_mode=always), a physical base backup of the primary, writes; the
# primary lost (SIGKILL), the standby promoted (timeline 2), more writes there, archived with
# 00000002.history; the standby lost too. The restore replays timeline 1 then 2 and holds every
# write of both; `check` passes; `snapshots` and the restore report name the timeline path 1 -> 2.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
SBD=$PGD/standby
stop_all() { pg_stop_dirs "$PGD/data" "$SBD" "$W/r1"; }
trap 'stop_all; [ -n "${KEEP_W:-}" ] || rm -rf "$W"' EXIT

unset PLAYER_SAVES_DIR CONFIG_DIRS APP_DIR
export DB_BACKUP_METHOD=physical
"$BIN" init >/dev/null
repo_for_pg
write_wal_push_script
# The standby is another host: its own state directory (the spool daemon of wal-push is one per
# BACKUP_STATE_DIR and serves one pg_wal), the same repository.
sed "s|BACKUP_STATE_DIR=$BACKUP_STATE_DIR|BACKUP_STATE_DIR=$W/state-standby|" "$W/wal-push.sh" >"$W/wal-push-standby.sh"
chmod 755 "$W/wal-push-standby.sh"
mkdir -p "$W/state-standby"; chown postgres "$W/state-standby" 2>/dev/null || true
ARCH="-c wal_level=replica -c max_wal_senders=5 -c hot_standby=on -c synchronous_commit=on -c archive_timeout=60"
PG_OPTS="$ARCH -c archive_mode=on -c 'archive_command=$W/wal-push.sh %p'"
start_pg
export DB_NAME=postgres
PRIMARY_PORT=$DB_PORT
psql_ postgres -c "CREATE TABLE writes (id serial PRIMARY KEY, phase text NOT NULL, at timestamptz DEFAULT clock_timestamp())"
psql_ postgres -c "INSERT INTO writes (phase) SELECT 'before-backup' FROM generate_series(1, 100)"

# The standby: a copy of the primary streaming from it, archiving what it receives too.
pg_as env PGPASSWORD="$PG_PW" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$SBD" -R -X stream -c fast -w
SB_PORT=$(pg_free_port)
pg_as "$PGBIN/pg_ctl" -D "$SBD" -l "$PGD/standby.log" -w -o "-p $SB_PORT -k $PGD -c listen_addresses=127.0.0.1 \
  -c fsync=off -c full_page_writes=off $ARCH -c archive_mode=always -c 'archive_command=$W/wal-push-standby.sh %p'" \
  start >/dev/null || { tail -20 "$PGD/standby.log"; fail "the standby did not start"; }
sb_() { PGPASSWORD=$PG_PW psql -h 127.0.0.1 -p "$SB_PORT" -U postgres -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }
[ "$(sb_ -c "SELECT pg_is_in_recovery()")" = t ] || fail "the standby is not in recovery"
pass "primary on port $PRIMARY_PORT, streaming standby on port $SB_PORT (archive_mode=always)"

pg_as "$BIN" backup full --no-progress >"$W/b1.json" || fail "backup: $(cat "$W/b1.json")"
[ "$(json "$W/b1.json" "r['components']['database']['method']")" = physical ] || fail "not physical: $(cat "$W/b1.json")"
psql_ postgres -c "INSERT INTO writes (phase) SELECT 'timeline-1' FROM generate_series(1, 200)"
psql_ postgres -At -c "SELECT pg_switch_wal()" >/dev/null
psql_ postgres -c "INSERT INTO writes (phase) SELECT 'timeline-1' FROM generate_series(1, 50)"
wait_archived
# The standby has everything the primary committed (synchronous_commit=on is local only: wait).
target=$(psql_ postgres -At -c "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 100); do
  [ "$(sb_ -c "SELECT pg_last_wal_replay_lsn() >= '$target'")" = t ] && break
  sleep 0.1
done
[ "$(sb_ -c "SELECT count(*) FROM writes")" = 350 ] || fail "the standby did not replay the primary's writes"

# Failover: the primary lost, the standby promoted to timeline 2.
pg_kill9 "$PGD/data"
pg_as "$PGBIN/pg_ctl" -D "$SBD" -w promote >/dev/null || { tail -20 "$PGD/standby.log"; fail "pg_ctl promote"; }
tli=$(sb_ -c "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int")
[ "$tli" = 2 ] || fail "the promoted standby is on timeline $tli"
sb_ -c "INSERT INTO writes (phase) SELECT 'timeline-2' FROM generate_series(1, 150)"
sb_ -c "SELECT pg_switch_wal()" >/dev/null
sb_ -c "INSERT INTO writes (phase) SELECT 'timeline-2' FROM generate_series(1, 30)"
last=$(sb_ -c "SELECT pg_walfile_name(pg_current_wal_lsn())")
sb_ -c "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 300); do
  archived=$(sb_ -c "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
  { [ "$archived" \> "$last" ] || [ "$archived" = "$last" ]; } && break
  sleep 0.2
done
[ "$(sb_ -c "SELECT failed_count FROM pg_stat_archiver")" = 0 ] || { tail -20 "$PGD/standby.log"; fail "the standby's archive_command failed"; }
{ [ "$archived" \> "$last" ] || [ "$archived" = "$last" ]; } || fail "the standby archived up to '$archived', not $last"
cluster=$(ls "$BACKUP_ROOT/wal/")
[ -n "$(find "$BACKUP_ROOT/wal/$cluster" -name 00000002.history)" ] || fail "00000002.history is not in the repository"
pg_kill9 "$SBD"
pass "failover: primary killed, standby promoted to timeline 2, 180 more writes archived with 00000002.history"

# --latest follows timeline 1 into timeline 2.
"$BIN" restore latest --components database --latest --target-dir "$W/r1" --no-progress >"$W/r1full.json" 2>"$W/r1.err" ||
  { cat "$W/r1.err" "$W/r1full.json"; fail "restore --latest failed"; }
json "$W/r1full.json" "json.dumps(r['components']['database'])" >"$W/r1.json"
[ "$(json "$W/r1.json" "r['timeline_path']")" = "[1, 2]" ] || fail "timeline_path: $(cat "$W/r1.json")"
[ "$(json "$W/r1.json" "r['recovered_to']['timeline']")" = 2 ] || fail "recovered_to: $(json "$W/r1.json" "r['recovered_to']")"
sock=$(json "$W/r1.json" "r['socket_directory']"); port=$(json "$W/r1.json" "r['port']")
got=$(PGPASSWORD=$PG_PW psql -X -At -h "$sock" -p "$port" -U postgres -d postgres -F ' ' \
  -c "SELECT string_agg(phase || '=' || n, ',' ORDER BY phase) FROM (SELECT phase, count(*) n FROM writes GROUP BY phase) x")
[ "$got" = "before-backup=100,timeline-1=250,timeline-2=180" ] || fail "restored writes: $got"
# Promoted at the end of recovery, the restored server opened timeline 3, branched off 2.
now_tli=$(PGPASSWORD=$PG_PW psql -X -At -h "$sock" -p "$port" -U postgres -d postgres \
  -c "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int")
[ "$now_tli" = 3 ] && grep -qE '^2[[:space:]]' "$W/r1/pg_wal/00000003.history" ||
  fail "the restored server is on timeline $now_tli, not 3 branched off 2"
pass "restore --latest: timeline path [1, 2], recovered to $(json "$W/r1.json" "r['recovered_to']['lsn']") on timeline 2, every write of both timelines"
stop_all

# A target after the newest stored WAL: refused before anything is laid down, naming that WAL.
T=$(date -u -d '+1 hour' '+%Y-%m-%d %H:%M:%S+00:00')
rc=0; "$BIN" restore latest --components database --target-time "$T" --target-dir "$W/r2" --no-progress \
  >"$W/r2.json" 2>"$W/r2.err" || rc=$?
[ "$rc" != 0 ] && cat "$W/r2.json" "$W/r2.err" | grep -q "is after the newest WAL in the repository.*--latest" ||
  { cat "$W/r2.json" "$W/r2.err"; fail "a target time after the newest WAL was not refused (exit $rc)"; }
[ ! -e "$W/r2/PG_VERSION" ] || fail "the refused restore laid the backup down"
pass "--target-time after the newest WAL refused: $(cat "$W/r2.json" "$W/r2.err" | grep -o 'is after the newest WAL[^"]*' | head -1 | cut -c1-150)"

"$BIN" snapshots --json >"$W/snaps.json" || fail "snapshots"
path=$(json "$W/snaps.json" "[w.get('timeline_path') for s in r for w in s.get('recovery_window', [])]")
[ "$path" = "[[1, 2]]" ] || fail "snapshots: recovery windows $(json "$W/snaps.json" "[s.get('recovery_window') for s in r]")"
"$BIN" snapshots | grep -q "timelines 1 -> 2" || fail "snapshots (table) does not name the timeline path: $("$BIN" snapshots)"
pass "snapshots: the backup's recovery window runs over timelines 1 -> 2"
"$BIN" check --read-data >"$W/check.json" 2>"$W/check.err" || { cat "$W/check.err" "$W/check.json"; fail "check --read-data failed"; }
pass "check --read-data passes ($(json "$W/check.json" "r['wal']['segments']") segments, $(json "$W/check.json" "r['wal']['histories']") history files)"
