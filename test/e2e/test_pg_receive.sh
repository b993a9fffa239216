#!/usr/bin/env bash
# wal-receive against a private PostgreSQL 15: the receiver streams from its slot into the
# repository (a part a second, whole segments); the server is SIGKILLed under load and the WAL
# stored reaches within 5 s of the last acknowledged commit (the gap is printed, from pg_waldump's
# last commit record in the fetched segments). In --sync mode (synchronous_standby_names) every
# acknowledged commit is stored: gap 0. SIGTERM ends the receiver with exit 0.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
RECV_PID=
stop_recv() { [ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null; [ -n "$RECV_PID" ] && wait "$RECV_PID" 2>/dev/null; RECV_PID=; }
trap 'heartbeat_stop; stop_recv; stop_pg; rm -rf "$W"' EXIT

"$BIN" init >/dev/null
mkdir -p "$BACKUP_STATE_DIR" "$BACKUP_LOG_DIR"
export DB_NAME=postgres

start_receiver() {  # args: extra wal-receive options
  "$BIN" wal-receive "$@" >>"$W/recv.out" 2>&1 &
  RECV_PID=$!
  for _ in $(seq 1 100); do
    [ "$(psql_ postgres -At -c "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'spacetime_wal' AND state = 'streaming'")" = 1 ] && return 0
    kill -0 "$RECV_PID" 2>/dev/null || { cat "$W/recv.out"; fail "wal-receive exited"; }
    sleep 0.1
  done
  cat "$W/recv.out"; fail "wal-receive is not streaming after 10 s"
}

# The newest WAL in the repository, as PostgreSQL would get it (wal-fetch pads a prefix of parts
# with zeros), decoded by pg_waldump: prints "<lsn> <epoch>" of the last commit record.
last_stored_commit() {
  local dir=$W/fetched-$1 ctl=$W/ctl-$1
  rm -rf "$dir"; mkdir -p "$dir"
  local segs
  segs=$(find "$BACKUP_ROOT/wal" -type f -path '*/wal/*/[0-9A-F]*/*' -printf '%f\n' | grep -oE '^[0-9A-F]{24}' | sort -u | tail -3)
  [ -n "$segs" ] || fail "no WAL stored"
  for s in $segs; do "$BIN" wal-fetch --pgdata "$ctl" "$s" "$dir/$s" || { find "$BACKUP_ROOT/wal" -type f | sort >&2; tail "$W/recv.out" >&2; fail "wal-fetch $s"; }; done
  local first last
  first=$(echo "$segs" | head -1); last=$(echo "$segs" | tail -1)
  # pg_waldump stops (non-zero) at the zero padding after the last stored record.
  TZ=UTC "$PGBIN/pg_waldump" -p "$dir" "$first" "$last" 2>"$W/waldump.err" | grep 'desc: COMMIT' | tail -1 >"$W/commit.txt" || true
  [ -s "$W/commit.txt" ] || { cat "$W/waldump.err"; fail "no commit record in the stored WAL"; }
  python3 - "$W/commit.txt" <<'PY'
import re, sys, datetime
line = open(sys.argv[1]).read()
lsn = re.search(r"lsn: ([0-9A-F]+/[0-9A-F]+)", line).group(1)
ts = re.search(r"COMMIT (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC", line).group(1)
fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in ts else "%Y-%m-%d %H:%M:%S"
t = datetime.datetime.strptime(ts, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()
print(lsn, t)
PY
}
lsn_bytes() { python3 -c "import sys; h,l=sys.argv[1].split('/'); print(int(h,16)<<32|int(l,16))" "$1"; }
last_ack() { grep -E '^[0-9]+\|[0-9.]+$' "$W/hb.log" | tail -1 | cut -d'|' -f2; }

# Kills the server after the load, then SIGTERMs the receiver; sets GAP (seconds of acknowledged
# commits not stored) and prints the byte distance to the server's last flush position.
crash_and_measure() {
  local tag=$1
  mkdir -p "$W/ctl-$tag/global"; cp "$PGD/data/global/pg_control" "$W/ctl-$tag/global/"
  local flush; flush=$(psql_ postgres -At -c "SELECT pg_current_wal_flush_lsn()")
  pg_kill9 "$PGD/data"
  heartbeat_stop || true  # (its wait returns the loop's signal status)
  local ack; ack=$(last_ack)
  sleep 0.5
  kill -TERM "$RECV_PID"
  local rc=0; wait "$RECV_PID" || rc=$?; RECV_PID=
  [ "$rc" = 0 ] || { tail -20 "$W/recv.out"; fail "wal-receive exited $rc on SIGTERM"; }
  grep -q "stopped; stored up to" "$W/recv.out" || fail "wal-receive did not report where it stopped"
  last_stored_commit "$tag" >"$W/last-$tag"
  read -r lsn at <"$W/last-$tag"
  GAP=$(python3 -c "print(round(max(0.0, $ack - $at), 3))")
  local behind=$(( $(lsn_bytes "$flush") - $(lsn_bytes "$lsn") ))
  echo "  [$tag] last acknowledged heartbeat $ack, last stored commit $at at $lsn;" \
    "server flush before the kill $flush ($behind bytes further); gap $GAP s"
}

# ---- 1. Asynchronous: a part every second. ----
PG_OPTS="-c wal_level=replica -c max_wal_senders=5 -c synchronous_commit=on" start_pg
start_receiver
slot=$(psql_ postgres -At -c "SELECT slot_type || ' ' || active FROM pg_replication_slots WHERE slot_name = 'spacetime_backup'")
[ "$slot" = "physical true" ] || fail "slot spacetime_backup: '$slot'"
heartbeat_start postgres
PGPASSWORD=$PG_PW "$PGBIN/pgbench" -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s 5 -q postgres >/dev/null 2>&1
PGPASSWORD=$PG_PW "$PGBIN/pgbench" -h 127.0.0.1 -p "$DB_PORT" -U postgres -c 2 -T 12 postgres >/dev/null 2>&1
sleep 2
n=$(find "$BACKUP_ROOT/wal" -type f -name '*.r*' | wc -l)
[ "$n" -ge 5 ] || fail "only $n parts stored while streaming"
segs=$(find "$BACKUP_ROOT/wal" -type f -printf '%f\n' | grep -cE '^[0-9A-F]{24}$' || true)
[ "$segs" -ge 3 ] || fail "only $segs complete segments stored under load"
crash_and_measure async
python3 -c "import sys; sys.exit(0 if $GAP <= 5 else 1)" || fail "asynchronous: acknowledged commits of the last $GAP s are not stored (limit 5 s)"
pass "asynchronous wal-receive: $n parts, $segs segments; gap at the kill $GAP s (limit 5 s)"

# ---- 2. Synchronous: the server waits for the receiver, nothing acknowledged is lost. ----
rm -f "$W/hb.log"
PG_OPTS="-c wal_level=replica -c max_wal_senders=5 -c synchronous_commit=on -c synchronous_standby_names=spacetime_wal" start_pg
start_receiver --sync
for _ in $(seq 1 50); do
  [ "$(psql_ postgres -At -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'spacetime_wal'")" = sync ] && break
  sleep 0.1
done
heartbeat_start postgres
PGPASSWORD=$PG_PW "$PGBIN/pgbench" -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s 2 -q postgres >/dev/null 2>&1
PGPASSWORD=$PG_PW "$PGBIN/pgbench" -h 127.0.0.1 -p "$DB_PORT" -U postgres -c 2 -T 6 postgres >/dev/null 2>&1
acked=$(grep -cE '^[0-9]+\|[0-9.]+$' "$W/hb.log")
[ "$acked" -ge 20 ] || fail "only $acked heartbeats acknowledged in sync mode"
crash_and_measure sync
[ "$GAP" = 0 ] || [ "$GAP" = 0.0 ] || fail "sync mode lost $GAP s of acknowledged commits"
pass "synchronous wal-receive --sync: $acked acknowledged heartbeats, gap 0"

"$BIN" check --read-data >"$W/check.json" 2>"$W/check.err" || { cat "$W/check.err"; fail "check --read-data"; }
pass "check --read-data passes ($(json "$W/check.json" "r['wal']['parts']") parts, $(json "$W/check.json" "r['wal']['segments']") segments)"
