#!/usr/bin/env bash
# wal-receive against a private PostgreSQL 15: the receiver streams from its slot into the
# repository (a part a second, whole segments). Under load, the server and the receiver are both
# SIGKILLed: the WAL stored reaches within 5 s of the last acknowledged commit (the gap is printed,
# from pg_waldump's last commit record in the segments wal-fetch returns). The server alone
# SIGKILLed: the receiver keeps what it had, SIGTERM ends it with exit 0. In --sync mode
# (synchronous_standby_names) every acknowledged commit is stored: gap 0. An S3 location (radosgw)
# gets the parts about once a second: after the SIGKILL it too holds WAL within 5 s of the kill.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
source "$HERE/../services/lib.sh"
RECV_PID=
stop_recv() { [ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null; [ -n "$RECV_PID" ] && wait "$RECV_PID" 2>/dev/null; RECV_PID=; }
# On a failure the receiver's own log says where its time went (slow stores are logged).
trap 'rc=$?; [ "$rc" = 0 ] || { echo "--- wal-receive log (tail)"; tail -40 "$W/recv.out"; } >&2
      heartbeat_stop || true; stop_recv || true; stop_pg; service_stop_all; rm -rf "$W"' EXIT

# An S3 location (radosgw): the receiver copies its parts there about once a second.
service_start s3 "$W/svc"
"$BIN" init >/dev/null
mkdir -p "$BACKUP_STATE_DIR" "$BACKUP_LOG_DIR"
export DB_NAME=postgres

start_receiver() {  # args: extra wal-receive options
  "$BIN" wal-receive "$@" >>"$W/recv.out" 2>&1 &
  RECV_PID=$!
  for _ in $(seq 1 100); do
    if [ "$(psql_ postgres -At -c "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'spacetime_wal' AND state = 'streaming'")" = 1 ]; then
      local slot; slot=$(psql_ postgres -At -c "SELECT slot_type || ' ' || active FROM pg_replication_slots WHERE slot_name = 'spacetime_backup'")
      [ "$slot" = "physical true" ] || fail "slot spacetime_backup: '$slot'"
      return 0
    fi
    kill -0 "$RECV_PID" 2>/dev/null || { cat "$W/recv.out"; fail "wal-receive exited"; }
    sleep 0.1
  done
  cat "$W/recv.out"; fail "wal-receive is not streaming after 10 s"
}

# The newest WAL of the phase's cluster, as PostgreSQL would get it (wal-fetch pads a prefix of
# parts with zeros), decoded by pg_waldump: prints "<lsn> <epoch>" of the last commit record.
last_stored_commit() {  # TAG CLUSTER [LOCATION]
  local tag=$1 cluster=$2 loc=${3:-local} dir=$W/fetched-$1-${3:-local}
  rm -rf "$dir"; mkdir -p "$dir"
  local segs
  segs=$(find "$BACKUP_ROOT/wal/$cluster" -type f -printf '%f\n' | grep -oE '^[0-9A-F]{24}' | sort -u | tail -3)
  [ -n "$segs" ] || fail "[$tag] no WAL stored"
  for s in $segs; do
    "$BIN" wal-fetch --location "$loc" --pgdata "$W/ctl-$tag" "$s" "$dir/$s" >&2 || fail "[$tag] wal-fetch --location $loc $s"
  done
  # pg_waldump stops (non-zero) at the zero padding after the last stored record.
  TZ=UTC "$PGBIN/pg_waldump" -p "$dir" "$(echo "$segs" | head -1)" "$(echo "$segs" | tail -1)" 2>"$W/waldump.err" |
    grep 'desc: COMMIT' | tail -1 >"$W/commit.txt" || true
  [ -s "$W/commit.txt" ] || { cat "$W/waldump.err" >&2; fail "[$tag] no commit record in the stored WAL"; }
  python3 - "$W/commit.txt" <<'PY'
import re, sys, datetime
line = open(sys.argv[1]).read()
lsn = re.search(r"lsn: ([0-9A-F]+/[0-9A-F]+)", line).group(1)
ts = re.search(r"COMMIT (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC", line).group(1)
fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in ts else "%Y-%m-%d %H:%M:%S"
print(lsn, datetime.datetime.strptime(ts, fmt).replace(tzinfo=datetime.timezone.utc).timestamp())
PY
}
pgbench_() { PGPASSWORD=$PG_PW "$PGBIN/pgbench" -h 127.0.0.1 -p "$DB_PORT" -U postgres "$@" postgres >/dev/null 2>&1; }

# phase TAG KILL PG_OPTIONS [wal-receive options]: a new cluster and receiver, heartbeats and
# pgbench, then KILL: "both" SIGKILLs the receiver and the server, "server" SIGKILLs the server
# and SIGTERMs the receiver. Sets GAP (seconds of acknowledged commits not stored), ACKED, PARTS
# and SEGS (what the cluster's folder holds).
phase() {
  local tag=$1 kill=$2 opts=$3; shift 3
  rm -f "$W/hb.log"
  local before; before=$(ls "$BACKUP_ROOT/wal" 2>/dev/null || true)
  PG_OPTS="-c wal_level=replica -c max_wal_senders=5 -c synchronous_commit=on $opts" start_pg
  start_receiver "$@"
  heartbeat_start postgres
  pgbench_ -i -s 5 -q
  mkdir -p "$W/ctl-$tag/global"; cp "$PGD/data/global/pg_control" "$W/ctl-$tag/global/"  # its system identifier
  # pgbench -i writes its tables as a burst of several segments at once. The limit is for steady
  # load, so the load starts once the receiver has stored that burst (a slow disk shows in the time
  # printed here, and in the receiver's warnings about slow stores).
  local target t0=$SECONDS; target=$(psql_ postgres -At -c "SELECT pg_current_wal_flush_lsn()")
  until [ "$(psql_ postgres -At -c "SELECT coalesce(bool_or(flush_lsn >= '$target'), false) FROM pg_stat_replication WHERE application_name = 'spacetime_wal'")" = t ]; do
    [ $((SECONDS - t0)) -lt 120 ] || fail "[$tag] the receiver has not stored pgbench -i's WAL ($target) after 120 s"
    sleep 0.2
  done
  echo "  [$tag] pgbench -i's WAL (to $target) stored $((SECONDS - t0)) s after it ended"
  # "both": the kill lands in the middle of the load, between two of the receiver's flushes.
  local load=
  if [ "$kill" = both ]; then pgbench_ -c 2 -T 30 & load=$!; sleep 10; else pgbench_ -c 2 -T 10; sleep 1; fi
  local cluster; cluster=$(comm -13 <(echo "$before") <(ls "$BACKUP_ROOT/wal"))
  [ -n "$cluster" ] || fail "[$tag] no cluster folder appeared under wal/"
  PARTS=$(find "$BACKUP_ROOT/wal/$cluster" -type f -name '*.r*' | wc -l)
  SEGS=$(find "$BACKUP_ROOT/wal/$cluster" -type f -printf '%f\n' | grep -cE '^[0-9A-F]{24}$' || true)
  local flush=
  [ "$kill" = both ] || flush=$(psql_ postgres -At -c "SELECT pg_current_wal_flush_lsn()")
  local kill_at; kill_at=$(date +%s.%N)
  [ "$kill" != both ] || kill -9 "$RECV_PID"
  pg_kill9 "$PGD/data"
  heartbeat_stop || true  # (its wait returns the loop's signal status)
  [ -z "$load" ] || wait "$load" 2>/dev/null || true  # pgbench, whose server is gone
  local rc=0; [ "$kill" = both ] || { sleep 0.5; kill -TERM "$RECV_PID"; }
  wait "$RECV_PID" || rc=$?; RECV_PID=
  if [ "$kill" = server ]; then
    [ "$rc" = 0 ] || { tail -20 "$W/recv.out"; fail "[$tag] wal-receive exited $rc on SIGTERM"; }
    grep -q "stopped; stored up to" "$W/recv.out" || fail "[$tag] wal-receive did not say where it stopped"
  fi
  ACKED=$(grep -cE '^[0-9]+\|[0-9.]+$' "$W/hb.log" || true)
  local ack; ack=$(grep -E '^[0-9]+\|[0-9.]+$' "$W/hb.log" | tail -1 | cut -d'|' -f2)
  last_stored_commit "$tag" "$cluster" >"$W/last-$tag"
  local lsn at; read -r lsn at <"$W/last-$tag"
  GAP=$(python3 -c "print(round(max(0.0, $ack - $at), 3))")
  BEFORE_KILL=$(python3 -c "print(round($kill_at - $at, 3))")
  last_stored_commit "$tag" "$cluster" s3 >"$W/last-$tag-s3"
  local s3lsn s3at; read -r s3lsn s3at <"$W/last-$tag-s3"
  S3_BEFORE_KILL=$(python3 -c "print(round($kill_at - $s3at, 3))")
  echo "  [$tag] last acknowledged heartbeat $ack; last stored commit $at at $lsn (server flush position" \
    "${flush:-not read}); gap $GAP s; the newest stored commit is $BEFORE_KILL s older than the kill;" \
    "in s3: $s3lsn, $S3_BEFORE_KILL s older"
}
# The RPO limit is the acceptance's 5 s. An ASan build runs several times slower, so there it only
# has to stay under 30 s: the speed is held by the release run and bench/, not by the sanitizer run.
RPO_LIMIT=5
ldd "$BIN" 2>/dev/null | grep -q libasan && RPO_LIMIT=30
within() { python3 -c "import sys; sys.exit(0 if $1 <= $2 else 1)"; }

# ---- 1. Asynchronous, both killed: only the parts stored every second count. ----
phase async-kill9 both ""
[ "$PARTS" -ge 5 ] && [ "$SEGS" -ge 1 ] || fail "only $PARTS parts and $SEGS complete segments stored under load"
within "$GAP" "$RPO_LIMIT" || fail "asynchronous: acknowledged commits of the last $GAP s are not stored (limit $RPO_LIMIT s)"
within "$BEFORE_KILL" "$RPO_LIMIT" || fail "asynchronous: the newest stored commit is $BEFORE_KILL s older than the kill (limit $RPO_LIMIT s)"
pass "wal-receive and server SIGKILLed under load: $PARTS parts, $SEGS segments stored; gap $GAP s, newest stored commit $BEFORE_KILL s before the kill (limit $RPO_LIMIT s)"
within "$S3_BEFORE_KILL" "$RPO_LIMIT" || fail "s3: the newest commit there is $S3_BEFORE_KILL s older than the kill (limit $RPO_LIMIT s)"
pass "s3 received the parts while the receiver ran: its newest commit is $S3_BEFORE_KILL s older than the kill (limit $RPO_LIMIT s)"

# ---- 2. Asynchronous, the server lost: the receiver stores what it has, SIGTERM exits 0. ----
phase async-term server ""
within "$GAP" "$RPO_LIMIT" || fail "asynchronous: acknowledged commits of the last $GAP s are not stored (limit $RPO_LIMIT s)"
pass "server SIGKILLed, wal-receive SIGTERMed (exit 0): gap $GAP s"

# ---- 3. Synchronous: the server waits for the receiver, nothing acknowledged is lost. ----
phase sync server "-c synchronous_standby_names=spacetime_wal" --sync
[ "$ACKED" -ge 10 ] || fail "only $ACKED heartbeats acknowledged in sync mode"
[ "$GAP" = 0.0 ] || fail "sync mode lost $GAP s of acknowledged commits"
pass "wal-receive --sync with synchronous_standby_names: $ACKED acknowledged heartbeats, gap 0"

"$BIN" check --read-data >"$W/check.json" 2>"$W/check.err" || { cat "$W/check.err"; fail "check --read-data"; }
pass "check --read-data passes ($(json "$W/check.json" "r['wal']['parts']") parts, $(json "$W/check.json" "r['wal']['segments']") segments)"
"$BIN" check --read-data s3 >"$W/check-s3.json" 2>"$W/check.err" || { cat "$W/check.err"; fail "check --read-data s3"; }
pass "check --read-data s3 passes ($(json "$W/check-s3.json" "r['wal']['parts']") parts, $(json "$W/check-s3.json" "r['wal']['segments']") segments)"
