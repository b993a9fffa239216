#!/usr/bin/env bash
# redis-stream with an S3 location (radosgw on loopback): what the capture stores reaches S3 within
# seconds; with the gateway stopped the capture and its ACKs go on; a capture SIGKILLed during the
# outage and started again copies what S3 lacks from the listings once it is back; the recovery
# point of redis at s3_primary follows the stream in the catalog; no secret in any output.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/../services/lib.sh"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
PW=test-redis-s3-$$
rpid="" cap=""
trap '[ -n "$cap" ] && kill -9 "$cap" 2>/dev/null; [ -n "$rpid" ] && kill -9 "$rpid" 2>/dev/null; service_stop_all; [ -n "${KEEP:-}" ] && cp -r "$W/log" "$W/cap.out" /tmp/rship-keep/; rm -rf "$W"' EXIT
unset PLAYER_SAVES_DIR CONFIG_DIRS APP_DIR
service_start s3 "$W/svc" || fail "radosgw did not start"
P=$(free_port)
rcli() { redis-cli -p "$P" -a "$PW" --no-auth-warning "$@"; }
mkdir -p "$W/redis"
redis-server --port "$P" --bind 127.0.0.1 --dir "$W/redis" --save "" --appendonly no --requirepass "$PW" \
  --repl-diskless-sync-delay 0 --daemonize yes --pidfile "$W/redis/redis.pid" --logfile "$W/redis/redis.log"
for _ in $(seq 1 100); do [ -s "$W/redis/redis.pid" ] && rcli PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
rpid=$(cat "$W/redis/redis.pid")
export REDIS_HOST=127.0.0.1 REDIS_PORT=$P REDIS_PASSWORD=$PW REDIS_STREAM_INTERVAL=1
"$BIN" init >/dev/null
start_capture() { "$BIN" redis-stream >>"$W/cap.out" 2>&1 & cap=$!; }
writes() {  # writes SECONDS: a key every 100 ms
  for i in $(seq 1 $(($1 * 10))); do rcli SET heartbeat "$i" >/dev/null; sleep 0.1; done
}
now_ms() { python3 -c 'import time; print(int(time.time()*1000))'; }
s3_point() {  # the point S3 restores to (Unix ms), from --status; "" when unknown
  "$BIN" redis-stream --status >"$W/status.json" 2>"$W/status.err" || return 0
  json "$W/status.json" "[l.get('point_unix_ms', 0) for l in r['locations'] if l.get('location') == 's3_primary'][0]"
}
wait_s3() {  # wait_s3 MS SECONDS: until S3 restores to MS or later; prints the seconds it took
  local t0 p ts
  t0=$(date +%s.%N)
  for _ in $(seq 1 $(($2 * 5))); do
    ts=$(date +%s.%N)
    p=$(s3_point)
    [ -n "$p" ] && [ "$p" -ge "$1" ] && { python3 -c "import time; print(f'{time.time() - $t0:.1f} s (one --status {time.time() - $ts:.1f} s)')"; return 0; }
    sleep 0.2
  done
  fail "S3 did not reach $1 within $2 s (at ${p:-?}): $(cat "$W/status.json" "$W/status.err" 2>/dev/null | tail -5)"
}
acked() { rcli INFO replication | tr -d '\r' | sed -n 's/^slave0:.*offset=\([0-9]*\).*/\1/p'; }
local_end() {  # the newest chain's stored end, without asking S3 (it may be down)
  env -u BACKUP_S3_BUCKET "$BIN" redis-stream --status >"$W/local.json" || fail "local --status: $(cat "$W/local.json")"
  json "$W/local.json" "r['chains'][-1]['durable_end']"
}

start_capture
writes 2
mark=$(now_ms)  # before the write: its arrival is later
rcli SET marker 1 >/dev/null
took=$(wait_s3 "$mark" 5)
[ "$(json "$W/status.json" "[l['objects_missing'] for l in r['locations'] if l.get('location') == 's3_primary'][0]")" -le 2 ] ||
  fail "objects missing in S3: $(cat "$W/status.json")"
pass "a write reached S3 in $took (recovery point at s3_primary past it)"

# S3 down: the capture stores and acknowledges as before.
radosgw_stop_gateway "$S3_SERVICE_DIR"
a0=$(acked); e0=$(local_end)
writes 3
a1=$(acked); e1=$(local_end)
[ "$a1" -gt "$a0" ] && [ "$e1" -gt "$e0" ] || fail "with S3 down the capture stalled (ack $a0 -> $a1, stored $e0 -> $e1)"
[ "$a1" -le "$e1" ] || fail "ACK $a1 past the stored $e1"
kill -0 "$cap" || fail "the capture exited with S3 down: $(tail -5 "$W/cap.out")"
pass "S3 down: the capture went on storing and acknowledging ($e0 -> $e1, ack $a1)"

# Killed during the outage: its queue is gone; the next one copies from the listings.
kill -9 "$cap"; wait "$cap" 2>/dev/null || true; cap=""
start_capture
writes 1
mark=$(now_ms)
rcli SET marker 2 >/dev/null
sleep 1.5
radosgw_start_gateway "$S3_SERVICE_DIR" || fail "radosgw gateway did not restart"
took=$(wait_s3 "$mark" 45)
[ "$(json "$W/status.json" "[l['objects_missing'] for l in r['locations'] if l.get('location') == 's3_primary'][0]")" -le 2 ] ||
  fail "S3 still lacks objects after the catch-up: $(cat "$W/status.json")"
pass "S3 back: caught up $took after the gateway returned, across a capture restart"

kill -TERM "$cap"; wait "$cap" || fail "redis-stream did not exit 0: $(tail -5 "$W/cap.out")"; cap=""
"$BIN" snapshots --recovery-points --json >"$W/rp.json" || fail "snapshots --recovery-points"
age=$(json "$W/rp.json" "[p['age_seconds'] for p in r['recovery_points'] if p['component'] == 'redis' and p['location'] == 's3_primary'][0]")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 15 else 1)" "$age" ||
  fail "the redis recovery point at s3_primary is $age s old: $(cat "$W/rp.json")"
pass "catalog: redis recovery point at s3_primary is $age s old"

for secret in "$PW" "$AWS_SECRET_ACCESS_KEY"; do
  if grep -rqF -- "$secret" "$W/cap.out" "$W/status.json" "$W/status.err" "$W/local.json" "$W/rp.json" "$BACKUP_LOG_DIR"; then
    fail "a secret reached an output or log"
  fi
done
pass "no secret in any output or log"
