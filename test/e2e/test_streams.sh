#!/usr/bin/env bash
# `schedule` with BACKUP_STREAMS=wal-receive against a private PostgreSQL 15: the daemon starts
# wal-receive as its child, which streams from the slot; kill -9 of the child brings a new one
# streaming within seconds; SIGTERM to the daemon stops the stream (exit 0, no child left). A
# stream that cannot stay up (no DB_HOST) is restarted with backoff and, once down longer than
# BACKUP_RPO_SECONDS, alerts stream_down to a local webhook. BACKUP_STREAMS=redis-stream against a
# private redis-server: a killed capture is attached to the master again within seconds.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
DAEMON=
servers=()
cleanup() {
  [ -z "$DAEMON" ] || { kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; }
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_pg; rm -rf "$W"
}
trap cleanup EXIT
"$BIN" init >/dev/null
PG_OPTS="-c wal_level=replica -c max_wal_senders=5" start_pg
export DB_NAME=postgres BACKUP_SCHEDULE_FULL="0 0 1 1 *" BACKUP_SCHEDULE_INCREMENTAL="" BACKUP_STREAMS=wal-receive

# The receiver's pid, once the server lists it as streaming.
streaming_pid() {
  local pid
  pid=$(psql_ postgres -At -c "SELECT pid FROM pg_stat_replication WHERE application_name = 'spacetime_wal' AND state = 'streaming'")
  [ -n "$pid" ] || return 1
  pgrep -P "$DAEMON" -f "wal-receive" | head -1
}
wait_streaming() {  # LIMIT_S: prints the child's pid
  for _ in $(seq 1 $(($1 * 10))); do
    local p; p=$(streaming_pid) && [ -n "$p" ] && { echo "$p"; return 0; }
    kill -0 "$DAEMON" 2>/dev/null || { cat "$W/daemon.err"; fail "schedule exited"; }
    sleep 0.1
  done
  cat "$W/daemon.err" "$BACKUP_LOG_DIR"/schedule.log 2>/dev/null | tail -20
  return 1
}

"$BIN" schedule >"$W/daemon.out" 2>"$W/daemon.err" &
DAEMON=$!
child=$(wait_streaming 20) || fail "no wal-receive child of schedule is streaming after 20 s"
pass "schedule started wal-receive (pid $child), streaming from its slot"

kill -9 "$child"
t0=$(date +%s.%N)
child2=
for _ in $(seq 1 150); do
  child2=$(streaming_pid) && [ -n "$child2" ] && [ "$child2" != "$child" ] && break
  child2=
  sleep 0.1
done
[ -n "$child2" ] || { tail -20 "$BACKUP_LOG_DIR/schedule.log"; fail "no new wal-receive streaming 15 s after kill -9"; }
took=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
grep -q "stream wal-receive ended by signal 9" "$BACKUP_LOG_DIR/schedule.log" || fail "the kill is not in schedule.log"
pass "wal-receive killed with SIGKILL: a new one (pid $child2) streams again after $took s"

kill -TERM "$DAEMON"
rc=0; wait "$DAEMON" || rc=$?; DAEMON=
[ "$rc" = 0 ] || fail "schedule exited $rc on SIGTERM"
kill -0 "$child2" 2>/dev/null && fail "wal-receive outlived the daemon"
grep -q "stream wal-receive stopped" "$BACKUP_LOG_DIR/schedule.log" || fail "schedule.log does not say the stream stopped"
pass "SIGTERM: schedule exit 0, wal-receive stopped with it"

# A stream that cannot run: wal-receive without DB_HOST exits at once, again and again.
mkdir -p "$W/hook"
python3 "$HERE/webhook_server.py" ok "$W/hook" >"$W/hook.port" &
servers+=($!)
for _ in $(seq 1 100); do [ -s "$W/hook.port" ] && break; sleep 0.05; done
BACKUP_ALERT_WEBHOOK="http://127.0.0.1:$(head -1 "$W/hook.port")/services/T000/B000/token" BACKUP_RPO_SECONDS=3 \
  DB_HOST= "$BIN" schedule >"$W/daemon2.out" 2>"$W/daemon2.err" &
DAEMON=$!
for _ in $(seq 1 200); do [ -f "$W/hook/1.json" ] && break; sleep 0.1; done
[ -f "$W/hook/1.json" ] || { tail -20 "$BACKUP_LOG_DIR/schedule.log"; fail "no stream_down alert 20 s after start"; }
[ "$(json "$W/hook/1.json" "r['event']")" = stream_down ] || fail "alert: $(cat "$W/hook/1.json")"
json "$W/hook/1.json" "r['error']" | grep -q "wal-receive: down for" || fail "alert text: $(cat "$W/hook/1.json")"
restarts=$(grep -c "stream wal-receive exited 1" "$BACKUP_LOG_DIR/schedule.log")
[ "$restarts" -ge 2 ] || fail "only $restarts restarts logged"
pass "a stream that keeps exiting: $restarts restarts with backoff, stream_down after BACKUP_RPO_SECONDS=3 ($(json "$W/hook/1.json" "r['error']"))"
rc=0; kill -TERM "$DAEMON"; wait "$DAEMON" || rc=$?; DAEMON=
[ "$rc" = 0 ] || fail "schedule exited $rc on SIGTERM"

# The Redis stream under the same supervisor: kill -9 of the capture brings a new one attached
# to the master (its replica count back to 1) within seconds.
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
{
  RP=$(free_port)
  mkdir -p "$W/redis"
  redis-server --port "$RP" --bind 127.0.0.1 --dir "$W/redis" --save "" --appendonly no \
    --repl-diskless-sync-delay 0 --daemonize yes --pidfile "$W/redis/redis.pid" --logfile "$W/redis/redis.log"
  for _ in $(seq 1 100); do [ -s "$W/redis/redis.pid" ] && break; sleep 0.05; done
  servers+=("$(cat "$W/redis/redis.pid")")
  replicas() { redis-cli -p "$RP" INFO replication 2>/dev/null | tr -d '\r' | sed -n 's/^connected_slaves://p'; }
  capture_pid() {  # the supervised capture's pid once the master counts it as a replica
    [ "$(replicas)" = 1 ] || return 1
    pgrep -P "$DAEMON" -f "redis-stream" | head -1
  }
  REDIS_HOST=127.0.0.1 REDIS_PORT=$RP REDIS_STREAM_INTERVAL=1 BACKUP_STREAMS=redis-stream \
    "$BIN" schedule >"$W/daemon3.out" 2>"$W/daemon3.err" &
  DAEMON=$!
  cap=
  for _ in $(seq 1 200); do cap=$(capture_pid) && [ -n "$cap" ] && break; cap=; sleep 0.1; done
  [ -n "$cap" ] || { tail -20 "$BACKUP_LOG_DIR/schedule.log"; fail "no redis-stream child attached after 20 s"; }
  kill -9 "$cap"
  t0=$(date +%s.%N)
  cap2=
  for _ in $(seq 1 150); do
    cap2=$(capture_pid) && [ -n "$cap2" ] && [ "$cap2" != "$cap" ] && break
    cap2=
    sleep 0.1
  done
  [ -n "$cap2" ] || { tail -20 "$BACKUP_LOG_DIR/schedule.log"; fail "no new redis-stream attached 15 s after kill -9"; }
  took=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
  grep -q "stream redis-stream ended by signal 9" "$BACKUP_LOG_DIR/schedule.log" || fail "the kill is not in schedule.log"
  pass "redis-stream killed with SIGKILL: a new one (pid $cap2) is attached again after $took s"
  rc=0; kill -TERM "$DAEMON"; wait "$DAEMON" || rc=$?; DAEMON=
  [ "$rc" = 0 ] || fail "schedule exited $rc on SIGTERM"
  kill -0 "$cap2" 2>/dev/null && fail "redis-stream outlived the daemon"
  pass "SIGTERM: schedule exit 0, redis-stream stopped with it"
}

BACKUP_STREAMS=no-such-stream "$BIN" schedule >/dev/null 2>"$W/bad.err" && fail "an unknown stream was accepted"
grep -q "BACKUP_STREAMS" "$W/bad.err" || fail "the error does not name BACKUP_STREAMS: $(cat "$W/bad.err")"
pass "BACKUP_STREAMS=no-such-stream is refused naming the setting"
"$BIN" check --read-data >/dev/null 2>"$W/check.err" || { cat "$W/check.err"; fail "check --read-data"; }
pass "check --read-data passes"
