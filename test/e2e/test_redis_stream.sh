#!/usr/bin/env bash
# redis-stream against a real redis-server 7 (loopback, free port, password): the capture stores a
# chain (base + contiguous segments) while a heartbeat key is written every 100 ms, its ACKs reach
# the master, a SIGKILLed capture resumes the same chain with CONTINUE, and a restarted server
# starts a new chain with a `restart` event on the old one; check --read-data passes. Retention:
# `forget --prune` dropping the backup taken during the first chain removes that chain and keeps
# the newest whole; a damaged segment makes `check --read-data` fail naming it.
source "$(dirname "$0")/lib.sh" "$1"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
PW=test-redis-stream-$$
pids=()
cap=""
cleanup() {
  [ -n "$cap" ] && kill -9 "$cap" 2>/dev/null || true
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && { cp -r "$W" /tmp/rs-keep; }; rm -rf "$W"
}
trap cleanup EXIT
P=$(free_port)
rcli() { redis-cli -p "$P" -a "$PW" --no-auth-warning "$@"; }
start_redis() {
  mkdir -p "$W/redis"
  rm -f "$W/redis/redis.pid"
  redis-server --port "$P" --bind 127.0.0.1 --dir "$W/redis" --save "" --appendonly no --requirepass "$PW" \
    --repl-diskless-sync-delay 0 --daemonize yes --pidfile "$W/redis/redis.pid" --logfile "$W/redis/redis.log"
  for _ in $(seq 1 100); do
    [ -s "$W/redis/redis.pid" ] && rcli PING 2>/dev/null | grep -q PONG && break
    sleep 0.05
  done
  pids+=("$(cat "$W/redis/redis.pid")")
}
heartbeat() {  # heartbeat SECONDS
  local n=$(($1 * 10))
  for i in $(seq 1 "$n"); do rcli SET heartbeat "$i" >/dev/null; sleep 0.1; done
}
start_capture() {
  "$BIN" redis-stream >>"$W/cap.out" 2>&1 &
  cap=$!
}
wait_chains() {  # wait_chains N: until N chains have their meta
  for _ in $(seq 1 150); do
    "$BIN" redis-stream --status >"$W/status.json" 2>/dev/null &&
      [ "$(json "$W/status.json" "sum(c['has_meta'] for c in r['chains'])")" = "$1" ] && return 0
    sleep 0.2
  done
  fail "no chain $1 within 30 s: $(tail -5 "$W/cap.out")"
}
stop_capture() {  # stop_capture WHEN: SIGTERM, exit 0 expected
  kill -TERM "$cap"
  wait "$cap" || fail "redis-stream did not exit 0 on SIGTERM $1: $(tail -5 "$W/cap.out")"
  cap=""
}
status() { "$BIN" redis-stream --status >"$W/status.json" || fail "redis-stream --status: $(cat "$W/status.json")"; }
export REDIS_HOST=127.0.0.1 REDIS_PORT=$P REDIS_PASSWORD=$PW REDIS_STREAM_INTERVAL=1

start_redis
rcli SET before-capture 1 >/dev/null
"$BIN" init >/dev/null
start_capture
wait_chains 1
rc=0; "$BIN" redis-stream >/dev/null 2>"$W/second.err" || rc=$?
[ "$rc" = 75 ] && grep -q "already running (pid $cap)" "$W/second.err" \
  || fail "a second capture was not refused with exit 75 (rc $rc): $(cat "$W/second.err")"
heartbeat 3
sleep 1.5
stop_capture "(first run)"
grep -q "$PW" "$W/cap.out" "$BACKUP_LOG_DIR"/redis-stream.log && fail "the password reached the output or log"
status
[ "$(json "$W/status.json" "len(r['chains'])")" = 1 ] || fail "one chain expected: $(cat "$W/status.json")"
[ "$(json "$W/status.json" "r['chains'][0]['has_meta'] and r['chains'][0]['missing'] == 0")" = True ] \
  || fail "chain without meta or not contiguous: $(cat "$W/status.json")"
segs=$(json "$W/status.json" "r['chains'][0]['segments']")
[ "$segs" -ge 2 ] || fail "expected several segments, got $segs"
end1=$(json "$W/status.json" "r['chains'][0]['durable_end']")
base=$(json "$W/status.json" "r['chains'][0]['base_offset']")
[ "$end1" -gt "$base" ] || fail "nothing stored after the base ($base, $end1)"
pass "capture stored a chain: $segs contiguous segments, offsets $base..$end1"

# The master saw our ACKs: the replica's offset is what we stored.
start_capture
heartbeat 2
sleep 1.5
ack=$(rcli INFO replication | tr -d '\r' | sed -n 's/^slave0:.*port=0,.*offset=\([0-9]*\).*/\1/p')
[ -n "$ack" ] || fail "the capture is not listed as a replica with port=0: $(rcli INFO replication)"
status
end2=$(json "$W/status.json" "r['chains'][0]['durable_end']")
[ "$ack" -le "$end2" ] || fail "master has offset $ack acknowledged, more than the stored $end2"
[ "$ack" -gt "$end1" ] || fail "no ACK arrived after restart (ack $ack, before $end1)"
pass "ACKs reached the master ($ack <= stored $end2)"

# SIGKILL, restart: CONTINUE on the same chain.
kill -9 "$cap"
wait "$cap" 2>/dev/null || true
start_capture
heartbeat 2
sleep 1.5
status
[ "$(json "$W/status.json" "len(r['chains'])")" = 1 ] || fail "a killed capture started a new chain: $(cat "$W/status.json")"
[ "$(json "$W/status.json" "r['chains'][0]['missing']")" = 0 ] || fail "gap after kill: $(cat "$W/status.json")"
end3=$(json "$W/status.json" "r['chains'][0]['durable_end']")
[ "$end3" -gt "$end2" ] || fail "nothing stored after the kill ($end2, $end3)"
pass "SIGKILLed capture resumed the chain with CONTINUE"

# A backup while the first chain is in use: retention drops it below.
make_data 3
"$BIN" backup full --no-progress >"$W/bk1.json" || fail "backup during the first chain: $(cat "$W/bk1.json")"

# Restarted server: a new chain, a restart event on the old one.
kill -9 "$(cat "$W/redis/redis.pid")"
sleep 1
start_redis
rcli SET after-restart 1 >/dev/null
wait_chains 2
heartbeat 1
sleep 1.5
stop_capture "after the server restart"
status
[ "$(json "$W/status.json" "len(r['chains'])")" = 2 ] || fail "no new chain after a server restart: $(cat "$W/status.json")"
[ "$(json "$W/status.json" "[e['type'] for e in r['chains'][0]['events'] if e['type'] in ('restart','gap')] == ['restart'] and [e['next_chain'] for e in r['chains'][0]['events'] if e['type']=='restart'][0] == r['chains'][1]['chain']")" = True ] \
  || fail "expected a restart event naming the new chain: $(cat "$W/status.json")"
[ "$(json "$W/status.json" "r['chains'][1]['missing']")" = 0 ] || fail "new chain not contiguous"
pass "a restarted server gave a new chain with a restart event"

"$BIN" check --read-data >"$W/check.json" || fail "check --read-data with redis/ objects: $(cat "$W/check.json")"
pass "check --read-data passes with redis/ objects"

# Retention: a backup during the second chain; keeping only it makes the first chain unneeded.
first=$(json "$W/status.json" "r['chains'][0]['chain']")
second=$(json "$W/status.json" "r['chains'][1]['chain']")
"$BIN" backup full --no-progress >"$W/bk2.json" || fail "backup during the second chain: $(cat "$W/bk2.json")"
"$BIN" forget --keep-last 1 --prune --dry-run >"$W/dry.json" || fail "forget --prune --dry-run: $(cat "$W/dry.json")"
[ "$(json "$W/dry.json" "[c['chain'].split('/')[1] for c in r['prune']['redis_stream_chains_deleted']] == ['$first'] and r['prune']['redis_stream_bytes_deleted'] > 0 and r['prune']['redis_stream_chains_deleted'][0]['objects'] > 0")" = True ] \
  || fail "dry run should list the first chain with its bytes: $(cat "$W/dry.json")"
status
[ "$(json "$W/status.json" "len(r['chains'])")" = 2 ] || fail "a dry run deleted chains"
"$BIN" forget --keep-last 1 --prune >"$W/forget.json" || fail "forget --prune: $(cat "$W/forget.json")"
status
[ "$(json "$W/status.json" "[c['chain'] for c in r['chains']] == ['$second'] and r['chains'][0]['has_meta'] and r['chains'][0]['missing'] == 0 and r['chains'][0]['durable_end'] > r['chains'][0]['base_offset']")" = True ] \
  || fail "after prune only the second chain, whole, should remain: $(cat "$W/status.json")"
[ -z "$(find "$BACKUP_ROOT/redis" -path "*$first*" -type f)" ] || fail "objects of the pruned chain are left"
"$BIN" check --read-data >"$W/check2.json" || fail "check --read-data after prune: $(cat "$W/check2.json")"
[ "$(json "$W/check2.json" "r['redis_stream']['sources'][0]['chains'][0]['chain'] == '$second' and r['redis_stream']['objects_read'] > 0")" = True ] \
  || fail "check has no redis_stream section for the kept chain: $(cat "$W/check2.json")"
pass "forget --prune removed the first chain, kept the one a restore needs"

# A damaged segment: check --read-data names it; a listing-level check does not open segments.
seg=$(find "$BACKUP_ROOT/redis" -path "*/seg/$second/*" -type f | sort | head -1)
[ -n "$seg" ] || fail "no segment file of the kept chain"
chmod u+w "$seg"
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=0x40; open(p,'wb').write(bytes(b))" "$seg"
"$BIN" check >"$W/check3.json" || fail "check without --read-data should not open segments: $(cat "$W/check3.json")"
rc=0; "$BIN" check --read-data >"$W/check4.json" 2>"$W/check4.err" || rc=$?
[ "$rc" != 0 ] || fail "check --read-data passed over a damaged segment"
name=${seg#"$BACKUP_ROOT"/}
grep -q "$name" "$W/check4.json" || fail "check did not name $name: $(cat "$W/check4.json" "$W/check4.err")"
pass "a damaged segment fails check --read-data, named"
