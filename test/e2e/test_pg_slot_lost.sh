#!/usr/bin/env bash
# A slot PostgreSQL invalidated is never silent (issue 16): wal-receive streams from a private
# PostgreSQL 15 with max_slot_wal_keep_size=32MB, is stopped, and the server writes and recycles
# WAL past the slot (wal_status 'lost'). The receiver, started again, alerts wal_slot_lost naming
# the slot and the LSN range, recreates the slot and streams on; `check` fails naming the loss
# until a physical full backup ends after it (schedule's next run is one, whatever its type); then
# check --read-data passes and backup_recovery_window_seconds is in the catalog (from check, then
# from monitor's probe) without `snapshots` having run.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
RECV_PID=
stop_recv() { [ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null; [ -n "$RECV_PID" ] && wait "$RECV_PID" 2>/dev/null; RECV_PID=; }
trap 'stop_recv || true; stop_pg; [ -n "${KEEP_W:-}" ] || rm -rf "$W"' EXIT

unset PLAYER_SAVES_DIR CONFIG_DIRS APP_DIR
export DB_NAME=postgres DB_BACKUP_METHOD=logical
"$BIN" init >/dev/null
mkdir -p "$BACKUP_STATE_DIR" "$BACKUP_LOG_DIR"
PG_OPTS="-c wal_level=replica -c max_wal_senders=5 -c max_slot_wal_keep_size=32MB" start_pg
slot_field() { psql_ postgres -At -c "SELECT $1 FROM pg_replication_slots WHERE slot_name = 'spacetime_backup'"; }
start_receiver() {
  "$BIN" wal-receive >>"$W/recv.out" 2>&1 &
  RECV_PID=$!
  for _ in $(seq 1 150); do
    [ "$(slot_field "active::text || ' ' || coalesce(wal_status, '')")" = "true reserved" ] && return 0
    kill -0 "$RECV_PID" 2>/dev/null || { cat "$W/recv.out"; fail "wal-receive exited"; }
    sleep 0.1
  done
  cat "$W/recv.out"; fail "wal-receive is not streaming on a reserved slot after 15 s"
}
# Writes and recycles about 6 segments of WAL (max_slot_wal_keep_size is 2).
churn() {
  for _ in 1 2 3 4 5 6; do
    psql_ postgres -c "INSERT INTO t SELECT repeat('x', 1000) FROM generate_series(1, 500)" \
      -c "SELECT pg_switch_wal()" -c "CHECKPOINT" >/dev/null
  done
}

psql_ postgres -c "CREATE TABLE t (x text)"
start_receiver
psql_ postgres -c "INSERT INTO t VALUES ('before')" -c "SELECT pg_switch_wal()" >/dev/null
sleep 2
stop_recv
"$BIN" check >"$W/check0.out" 2>&1 || fail "check before the loss: $(tail -3 "$W/check0.out")"
pass "check passes while no WAL was lost"

churn
[ "$(slot_field wal_status)" = lost ] || fail "the slot is '$(slot_field wal_status)', not lost, after the churn"
pass "the server invalidated the slot (wal_status lost)"

start_receiver
grep -q "wal_slot_lost: WAL [0-9A-F]*/[0-9A-F]*\.\.[0-9A-F]*/[0-9A-F]* on timeline 1 .*slot spacetime_backup" \
  "$BACKUP_LOG_DIR/wal-receive.log" || { cat "$BACKUP_LOG_DIR/wal-receive.log"; fail "no wal_slot_lost alert with the range"; }
[ -s "$BACKUP_STATE_DIR/wal-slot-lost.json" ] || fail "the loss was not recorded in the state directory"
pass "wal-receive alerted wal_slot_lost with the range, recreated the slot and streams again"

rc=0; "$BIN" check >"$W/check1.out" 2>"$W/check1.err" || rc=$?
[ "$rc" = 1 ] || fail "check exited $rc after the loss, before a base backup"
grep -q "damaged: WAL .* of cluster .* (slot spacetime_backup) was removed by the server.*physical" "$W/check1.err" ||
  fail "check did not name the loss: $(cat "$W/check1.err")"
pass "check fails naming the lost range until a base backup"

# Physical backups blocked (the receiver stopped: the base backup's WAL never arrives): the forced
# physical full fails, and the scheduled run still happens as configured (logical), rather than
# every run failing until an operator steps in; check still names the loss.
stop_recv
rc=0; DB_WAL_SOURCE=archive DB_WAL_WAIT_SECONDS=2 "$BIN" schedule run incremental >"$W/sched0.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "schedule run with physical backups blocked exited $rc: $(tail -5 "$W/sched0.out")"
grep -q "forced by lost WAL failed; running the scheduled incremental backup" "$BACKUP_LOG_DIR/schedule.log" ||
  fail "schedule did not log the fallback: $(tail -5 "$BACKUP_LOG_DIR/schedule.log")"
"$BIN" snapshots --json >"$W/snaps0.json"
ok_snaps="[s for s in r if s['overall_success']]"
[ "$(json "$W/snaps0.json" "[('recovery_window' in s) for s in $ok_snaps]")" = "[False]" ] ||
  fail "the fallback is not one logical backup: $(cat "$W/snaps0.json")"
fallback_id=$(json "$W/snaps0.json" "$ok_snaps[0]['backup_id']")
rc=0; "$BIN" check >"$W/check1b.out" 2>"$W/check1b.err" || rc=$?
[ "$rc" = 1 ] && grep -q "damaged: WAL .* was removed by the server" "$W/check1b.err" ||
  fail "check after the fallback: $rc $(cat "$W/check1b.err")"
pass "physical backups blocked: the forced full fails, the scheduled logical backup still runs, check still fails"
start_receiver

# schedule's next run (an incremental on the schedule, DB_BACKUP_METHOD=logical) becomes a physical
# full backup. Its WAL comes from the receiver, streaming again (set explicitly: auto would choose
# archive only while the slot is active, and the receiver may be between reconnects).
psql_ postgres -c "INSERT INTO t VALUES ('after')" >/dev/null
DB_WAL_SOURCE=archive DB_WAL_WAIT_SECONDS=60 "$BIN" schedule run incremental >"$W/sched.out" 2>&1 ||
  fail "schedule run: $(tail -5 "$W/sched.out")"
"$BIN" snapshots --json >"$W/snaps.json"
[ "$(json "$W/snaps.json" "[(s['type'], 'recovery_window' in s) for s in $ok_snaps if s['backup_id'] != '$fallback_id']")" = \
  "[('full', True)]" ] ||
  fail "schedule did not take a physical full backup: $(cat "$W/snaps.json")"
grep -q "this run is a physical full backup" "$BACKUP_LOG_DIR/schedule.log" || fail "schedule did not log why"
rm "$BACKUP_STATE_DIR/catalog.db"  # the window below must come from check, not from snapshots
"$BIN" check --read-data >"$W/check2.out" 2>"$W/check2.err" || fail "check --read-data after the base backup: $(cat "$W/check2.err")"
json "$W/check2.out" "len(r['recovery_windows'])" | grep -qv '^0$' || fail "check printed no recovery window"
window=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM recovery_window').fetchone()[0])" \
  "$BACKUP_STATE_DIR/catalog.db")
[ "$window" -ge 1 ] || fail "check did not record the recovery window in the catalog"
pass "a physical full backup heals it: check --read-data passes and records the recovery window"

# The exporter's probe records it too (no location to probe, no `snapshots` run).
rm "$BACKUP_STATE_DIR/catalog.db"
MP=$(free_port)
"$BIN" monitor --listen "127.0.0.1:$MP" --probe-interval 3600 >"$W/monitor.out" 2>"$W/monitor.err" &
MON_PID=$!
seen=
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$MP/metrics" -o "$W/metrics" 2>/dev/null &&
    grep -q '^backup_recovery_window_seconds{cluster="' "$W/metrics" && { seen=1; break; }
  sleep 0.1
done
kill "$MON_PID"; wait "$MON_PID" 2>/dev/null || true
[ -n "$seen" ] || fail "monitor did not export backup_recovery_window_seconds: $(cat "$W/monitor.err")"
pass "monitor exports backup_recovery_window_seconds from its own probe"
stop_recv
