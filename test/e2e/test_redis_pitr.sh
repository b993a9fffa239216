#!/usr/bin/env bash
# Redis point-in-time restore from the captured stream (issue 14 acceptance) against a real
# redis-server 7 with appendonly yes and a password: redis-stream runs, one backup is taken, then
# a heartbeat key (every 100 ms) and redis-benchmark write; the load pauses once at T (DEBUG DIGEST
# and the heartbeat noted). The server is SIGKILLed and its files deleted; `restore --latest` brings
# it back with at most 2 s lost, from S3 alone (radosgw on loopback; the local repository moved
# away) with at most 5 s lost, and `--target-time T` to exactly T's digest and heartbeat. A time
# before the first chain and a missing stream are clear errors; no secret appears in any output.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/../services/lib.sh"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
command -v redis-benchmark >/dev/null || fail "redis-benchmark is not installed (redis-tools)"
PW=test-redis-pitr-$$
cap=""
load_pids=()
cleanup() {
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$cap" ] && kill -9 "$cap" 2>/dev/null || true
  [ -s "$W/redis.pid" ] && kill -9 "$(cat "$W/redis.pid")" 2>/dev/null || true
  service_stop_all
  [ -n "${KEEP:-}" ] && cp -r "$W" /tmp/pitr-keep
  rm -rf "$W"
}
trap cleanup EXIT
P=$(free_port)
export REDISCLI_AUTH=$PW  # redis-cli takes the password from here: never in argv
rcli() { redis-cli -p "$P" --no-auth-warning "$@" | tr -d '\r'; }
now_ms() { date +%s%3N; }

mkdir -p "$W/redis"
cat >"$W/redis.conf" <<CONF
port $P
bind 127.0.0.1
dir $W/redis
save ""
appendonly yes
appendfsync everysec
requirepass "$PW"
repl-diskless-sync-delay 0
enable-debug-command local
daemonize yes
pidfile $W/redis.pid
logfile $W/redis.log
CONF
# The restart path the restore runs: stop a running server, start one on the same configuration.
cat >"$W/restart.sh" <<'SH'
#!/bin/sh
W=$(dirname "$0")
if [ -s "$W/redis.pid" ] && kill -0 "$(cat "$W/redis.pid")" 2>/dev/null; then
  pid=$(cat "$W/redis.pid"); kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
fi
rm -f "$W/redis.pid"
exec redis-server "$W/redis.conf"
SH
chmod +x "$W/restart.sh"
wait_up() {
  for _ in $(seq 1 100); do
    [ -s "$W/redis.pid" ] && [ "$(rcli PING 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  fail "redis-server did not start: $(tail -5 "$W/redis.log")"
}
export REDIS_HOST=127.0.0.1 REDIS_PORT=$P REDIS_PASSWORD=$PW REDIS_STREAM_INTERVAL=1 REDIS_DATA_DIR=$W/redis \
  REDIS_CONF=$W/redis.conf REDIS_RESTART_COMMAND=$W/restart.sh

unset PLAYER_SAVES_DIR CONFIG_DIRS APP_DIR  # Redis alone
service_start s3 "$W/svc" || fail "radosgw did not start"
"$W/restart.sh" && wait_up
"$BIN" init >/dev/null
"$BIN" redis-stream >>"$W/cap.out" 2>&1 &
cap=$!
for _ in $(seq 1 100); do
  "$BIN" redis-stream --status >"$W/status.json" 2>/dev/null &&
    [ "$(json "$W/status.json" "sum(c['has_meta'] for c in r['chains'])")" = 1 ] && break
  sleep 0.1
done
[ "$(json "$W/status.json" "sum(c['has_meta'] for c in r['chains'])")" = 1 ] || fail "no chain: $(tail -5 "$W/cap.out")"
rcli SET seed 1 >/dev/null
"$BIN" backup full --no-progress >"$W/b.json" || fail "backup: $(cat "$W/b.json")"
bid=$(json "$W/b.json" "r['backup_id']")

heartbeat() {  # SET hb <ms> every 100 ms, each written value logged
  while :; do
    v=$(now_ms)
    [ "$(rcli SET hb "$v")" = OK ] && echo "$v" >>"$W/hb.log"
    sleep 0.1
  done
}
start_load() {
  heartbeat &
  load_pids=($!)
  redis-benchmark -p "$P" -a "$PW" -t set,incr,lpush -n 100000000 -r 5000 -c 4 -q >/dev/null 2>&1 &
  load_pids+=($!)
}
stop_load() {
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  load_pids=()
}

start_load
sleep 3
stop_load
sleep 0.5  # everything written has reached the capture
digest_t=$(rcli DEBUG DIGEST)
hb_t=$(rcli GET hb)
keys_t=$(rcli DBSIZE)
T=$(now_ms)
sleep 0.5  # nothing written after T arrives before it
start_load
sleep 3
stop_load
last_hb=$(rcli GET hb)  # the last value written (one may have landed after the log's last line)
kill -9 "$(cat "$W/redis.pid")"
rm -f "$W/redis.pid"
# The capture stores what it holds when the link drops (link-lost event), then is stopped.
for _ in $(seq 1 50); do
  "$BIN" redis-stream --status >"$W/status.json" 2>/dev/null &&
    [ "$(json "$W/status.json" "any(e['type']=='link-lost' for c in r['chains'] for e in c['events'])")" = True ] && break
  sleep 0.1
done
kill -TERM "$cap"; wait "$cap" || true; cap=""
rm -rf "${W:?}/redis/"*
[ -z "$(ls "$W/redis")" ] || fail "data files not deleted"
pass "load with a pause at T ($keys_t keys, hb $hb_t); server killed, files deleted"

# From S3 alone: the local repository is moved away for this restore.
mv "$BACKUP_ROOT" "$W/repo.aside"
"$BIN" restore "$bid" s3 --components redis --latest --no-progress >"$W/s3.json" 2>"$W/s3.err" ||
  fail "restore --latest from S3: $(cat "$W/s3.json" "$W/s3.err")"
mv "$W/repo.aside" "$BACKUP_ROOT"
lost=$(json "$W/s3.json" "r['components']['redis']['stream']['lost_interval_seconds']")
[ "$lost" != None ] && python3 -c "import sys; sys.exit(0 if float('$lost') <= 5 else 1)" ||
  fail "lost interval from S3 $lost > 5 s: $(cat "$W/s3.json")"
hb=$(rcli GET hb)
[ -n "$hb" ] && [ $((last_hb - hb)) -le 5000 ] && [ $((last_hb - hb)) -ge 0 ] ||
  fail "heartbeat restored from S3 $hb is not within 5 s of the last written $last_hb"
pass "restore --latest from S3 alone: lost $lost s, heartbeat $((last_hb - hb)) ms behind the last written"
kill -9 "$(cat "$W/redis.pid")"
rm -f "$W/redis.pid"
rm -rf "${W:?}/redis/"*

# Latest: lost interval and heartbeat.
t0=$(date +%s.%N)
"$BIN" restore latest --components redis --latest --no-progress >"$W/latest.json" 2>"$W/latest.err" ||
  fail "restore --latest: $(cat "$W/latest.json" "$W/latest.err")"
t1=$(date +%s.%N)
red() { json "$W/$1" "r['components']['redis']$2"; }
lost=$(red latest.json "['stream']['lost_interval_seconds']")
[ "$lost" != None ] && python3 -c "import sys; sys.exit(0 if float('$lost') <= 2 else 1)" ||
  fail "lost interval $lost > 2 s: $(cat "$W/latest.json")"
hb=$(rcli GET hb)
[ -n "$hb" ] && [ $((last_hb - hb)) -le 2000 ] && [ $((last_hb - hb)) -ge 0 ] ||
  fail "restored heartbeat $hb is not within 2 s of the last written $last_hb"
[ "$(red latest.json "['stream']['base']['from']")" = "$bid" ] || fail "base is not the backup $bid: $(cat "$W/latest.json")"
[ "$(rcli CONFIG GET appendonly | tail -1)" = yes ] || fail "restored server does not run with appendonly"
red latest.json "['verified']" | grep -q "redis-check-aof" || fail "redis-check-aof did not run: $(red latest.json "['verified']")"
pass "restore --latest: lost $lost s, heartbeat $((last_hb - hb)) ms behind the last written, base $bid, $(red latest.json "['stream']['replayed_commands']") commands replayed in $(python3 -c "print(round($t1-$t0,2))") s"

# Redis still running on the directory, no restart command: refused before anything is written
# (the live server's AOF rewrites would otherwise land in the restored directory).
if env -u REDIS_RESTART_COMMAND "$BIN" restore latest --components redis --latest --no-progress >"$W/live.json" 2>&1; then
  fail "a restore under a running Redis without REDIS_RESTART_COMMAND succeeded"
fi
grep -q "stop Redis first.*REDIS_RESTART_COMMAND" "$W/live.json" || fail "unclear error: $(cat "$W/live.json")"
! ls -d "$W/redis/appendonlydir.stb-"* >/dev/null 2>&1 || fail "the refused restore touched $W/redis"
[ "$(rcli PING)" = PONG ] || fail "the refused restore stopped Redis"
pass "a restore under a running Redis without REDIS_RESTART_COMMAND is refused, nothing written"

# To T (Redis running: stopped by SHUTDOWN NOSAVE first): the digest and the heartbeat at T.
Tiso=$(python3 -c "import datetime; print(datetime.datetime.fromtimestamp($T/1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ'))")
"$BIN" restore latest --components redis --target-time "$Tiso" --no-progress >"$W/t.json" 2>"$W/t.err" ||
  fail "restore --target-time: $(cat "$W/t.json" "$W/t.err")"
[ "$(rcli GET hb)" = "$hb_t" ] || fail "heartbeat at T is $(rcli GET hb), expected $hb_t"
[ "$(rcli DEBUG DIGEST)" = "$digest_t" ] || fail "DEBUG DIGEST at T differs ($(rcli DBSIZE) keys, $keys_t expected)"
ls -d "$W/redis/appendonlydir.stb-replaced-"* >/dev/null 2>&1 || fail "the previous appendonlydir was not kept aside"
grep -q "was stopped (SHUTDOWN NOSAVE)" "$W/t.json" || fail "the running Redis was not stopped first: $(cat "$W/t.json")"
pass "restore --target-time $Tiso: DEBUG DIGEST and heartbeat equal those at T; old appendonlydir kept aside"

# Errors: before the first chain; no stream for the source.
if "$BIN" restore latest --components redis --target-time 2020-01-01T00:00:00Z --no-progress >"$W/e1.json" 2>&1; then
  fail "a time before the first chain succeeded"
fi
grep -q "before the first stream chain" "$W/e1.json" || fail "unclear error: $(cat "$W/e1.json")"
if REDIS_STREAM_SOURCE=elsewhere "$BIN" restore latest --components redis --latest --no-progress >"$W/e2.json" 2>&1; then
  fail "a restore without a stream succeeded"
fi
grep -q "BACKUP_STREAMS=redis-stream" "$W/e2.json" || fail "no-stream error does not name BACKUP_STREAMS: $(cat "$W/e2.json")"
pass "a time before the first chain and a missing stream are errors naming the cause"

for secret in "$PW" "$AWS_SECRET_ACCESS_KEY"; do
  ! grep -rqF -- "$secret" "$W"/*.json "$W"/*.err "$W/cap.out" "$BACKUP_LOG_DIR" 2>/dev/null ||
    fail "a secret reached an output or log"
done
pass "no secret in any output"
