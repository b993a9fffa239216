#!/usr/bin/env bash
# The redis component against real redis-server 7 instances (private, loopback, free ports, with a
# password): every type, expiries, several databases, 200k+ keys; snapshots over the replication
# protocol in both forms (diskless EOF-marked and length-prefixed); restore by file into a new
# server with equal DEBUG DIGEST; a second unchanged backup stores < 5%; clear one-line errors.
source "$(dirname "$0")/lib.sh" "$1"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
PW=test-redis-secret-$$
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
start_redis() {  # start_redis PORT DIR [extra args]
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no --requirepass "$PW" \
    --enable-debug-command local --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "$@"
  for _ in $(seq 1 100); do
    [ -s "$dir/redis.pid" ] && rcli "$port" PING 2>/dev/null | grep -q PONG && break
    sleep 0.05
  done
  pids+=("$(cat "$dir/redis.pid")")
}
rcli() { local port=$1; shift; redis-cli -p "$port" -a "$PW" --no-auth-warning "$@"; }

P1=$(free_port)
start_redis "$P1" "$W/redis1" --appendonly yes
rcli "$P1" DEBUG POPULATE 200000 player: 64 >/dev/null
python3 - <<'PY' | rcli "$P1" --pipe >/dev/null
import sys
out = []
def cmd(*a):
    out.append("*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x.encode()), x) for x in map(str, a)))
for db in (1, 2, 5):
    cmd("SELECT", db)
    for i in range(2000):
        cmd("HSET", f"inv:{i}", "sword", i, "gold", i * 3, "zone", "frostpeak")
        cmd("RPUSH", f"log:{i % 100}", f"event-{i}")
        cmd("SADD", f"guild:{i % 50}", f"player-{i}")
        cmd("ZADD", "leaderboard", i * 7 % 1000, f"player-{i}")
        cmd("SET", f"session:{i}", "x" * 40, "EX", 86400)
    for i in range(500):
        cmd("XADD", "events", "*", "type", "login", "player", i)
sys.stdout.write("".join(out))
PY
digest1=$(rcli "$P1" DEBUG DIGEST)
keys=$(for db in 0 1 2 5; do rcli "$P1" -n $db DBSIZE; done | awk '{s+=$1} END {print s}')
[ "$keys" -ge 200000 ] || fail "only $keys keys loaded"
export REDIS_HOST=127.0.0.1 REDIS_PORT=$P1 REDIS_PASSWORD=$PW REDIS_DIGEST=yes REDIS_DATA_DIR=$W/redis1
rcli "$P1" BGREWRITEAOF >/dev/null
for _ in $(seq 1 200); do rcli "$P1" INFO persistence | grep "aof_rewrite_in_progress:0" >/dev/null && break; sleep 0.05; done
make_data 20
"$BIN" init >/dev/null

# 1. Diskless (Redis 7's default): "$EOF:<mark>" form.
"$BIN" backup full --no-progress >"$W/b1.json" || fail "backup (diskless): $(cat "$W/b1.json")"
[ "$(json "$W/b1.json" "r['components']['redis']['keys']")" = "$keys" ] || fail "recorded key count differs from $keys"
stored1=$(json "$W/b1.json" "r['repository']['stored_bytes']")
pass "diskless snapshot of $keys keys backed up ($(json "$W/b1.json" "r['components']['redis']['size_bytes']") bytes)"

# 2. Disk-based: "$<length>" form; the unchanged data set deduplicates (< 5% stored).
rcli "$P1" CONFIG SET repl-diskless-sync no >/dev/null
"$BIN" backup incremental --no-progress >"$W/b2.json" || fail "backup (disk-based): $(cat "$W/b2.json")"
stored2=$(json "$W/b2.json" "r['repository']['stored_bytes']")
python3 -c "import sys; a,b=map(int,sys.argv[1:]); sys.exit(0 if b < a*0.05 else 1)" "$stored1" "$stored2" \
  || fail "second backup of unchanged data stored $stored2 bytes, first $stored1: not under 5%"
pass "length-prefixed snapshot backed up; unchanged data stored $stored2 of $stored1 bytes"
b2=$(json "$W/b2.json" "r['backup_id']")

# Both forms record where the snapshot stands in the server's replication stream: +FULLRESYNC's id
# (the server's master_replid, 40 hex) and offset, and the server's version.
replid=$(rcli "$P1" INFO replication | tr -d '\r' | sed -n 's/^master_replid://p')
master_offset=$(rcli "$P1" INFO replication | tr -d '\r' | sed -n 's/^master_repl_offset://p')
version=$(rcli "$P1" INFO server | tr -d '\r' | sed -n 's/^redis_version://p')
prev_offset=0
for b in b1 b2; do
  r="r['components']['redis']"
  id=$(json "$W/$b.json" "$r.get('repl_id')")
  offset=$(json "$W/$b.json" "$r.get('repl_offset')")
  [[ $id =~ ^[0-9a-f]{40}$ ]] || fail "$b: repl_id '$id' is not 40 hex digits: $(json "$W/$b.json" "$r")"
  [ "$id" = "$replid" ] || fail "$b: repl_id $id is not the server's master_replid $replid"
  [[ $offset =~ ^[0-9]+$ ]] || fail "$b: repl_offset '$offset' is not a number"
  [ "$offset" -ge "$prev_offset" ] && [ "$offset" -le "$master_offset" ] ||
    fail "$b: repl_offset $offset outside [$prev_offset, master_repl_offset $master_offset]"
  [ "$(json "$W/$b.json" "$r['redis_version']")" = "$version" ] || fail "$b: redis_version differs from $version"
  prev_offset=$offset
done
pass "backups record repl_id $replid, repl_offset $prev_offset (master at $master_offset), redis_version $version"

# 3. Restore by file: a new server started on the restored directory has the same digest.
P2=$(free_port)
export REDIS_PORT=$P2 REDIS_RESTART_COMMAND="redis-server --port $P2 --bind 127.0.0.1 --dir $W/restored/redis --dbfilename dump.rdb --save '' --requirepass '$PW' --enable-debug-command local --daemonize yes --pidfile $W/restored/redis.pid --logfile $W/restored/redis.log"
"$BIN" restore "$b2" --components redis --target "$W/restored" --no-progress >"$W/r.json" || fail "restore: $(cat "$W/r.json")"
pids+=("$(cat "$W/restored/redis.pid")")
[ "$(rcli "$P2" DEBUG DIGEST)" = "$digest1" ] || fail "restored server's DEBUG DIGEST differs"
pass "restored server has the same DEBUG DIGEST ($digest1)"
same_tree "$W/redis1/appendonlydir" "$W/restored/redis/appendonlydir" || fail "restored AOF files differ"
pass "AOF files ($(ls "$W/redis1/appendonlydir" | wc -l)) restored beside dump.rdb"
unset REDIS_RESTART_COMMAND

# 4. Restore live: a running, empty server receives the snapshot by replication from the tool.
P3=$(free_port)
start_redis "$P3" "$W/redis3"
rcli "$P3" SET will-be-replaced 1 >/dev/null
rcli "$P3" CONFIG SET masterauth "operator-masterauth-$$" >/dev/null
# A stranger on the host hammers the listener's port (REDIS_LIVE_RESTORE_PORT) for the whole
# restore, asking for a full resync as a replica would: it must be refused and get no data.
LP=$(free_port)
python3 - "$LP" "$W/stranger.bin" <<'PY' &
import socket, sys, time
port, out = int(sys.argv[1]), open(sys.argv[2], "wb")
open(sys.argv[2] + ".ready", "w").close()
end = time.time() + 120
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), 0.5)
    except OSError:
        time.sleep(0.001)
        continue
    s.settimeout(2)
    try:
        s.sendall(b"*1\r\n$4\r\nPING\r\n*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
        while True:
            d = s.recv(65536)
            if not d:
                break
            out.write(d)
            out.flush()
    except OSError:
        pass
    s.close()
PY
stranger=$!
pids+=("$stranger")
# Redis connects back within a millisecond of REPLICAOF; keeping it busy (DEBUG SLEEP, back to
# back) holds the listener open until the current sleep ends, long enough for the stranger to
# knock first.
# One redis-cli sends the sleeps one after the other (a gap of microseconds between them). A
# second each: with 0.2 s the stranger lost the race three times running on a loaded CI machine.
(while :; do yes "DEBUG SLEEP 1" | head -5 | rcli "$P3" >/dev/null 2>&1 || sleep 0.1; done) &
sleeper=$!
pids+=("$sleeper")
for _ in $(seq 1 100); do [ -e "$W/stranger.bin.ready" ] && break; sleep 0.05; done
# The stranger may still lose the race to Redis now and then: try up to three restores.
for attempt in 1 2 3; do
  REDIS_PORT=$P3 REDIS_LIVE_RESTORE_PORT=$LP "$BIN" restore "$b2" --components redis --live --no-progress >"$W/live.json" || fail "live restore: $(cat "$W/live.json")"
  grep -q NOAUTH "$W/stranger.bin" && break
done
kill "$stranger" "$sleeper" 2>/dev/null || true
wait "$sleeper" 2>/dev/null || true
grep -q NOAUTH "$W/stranger.bin" || fail "the stranger never reached the live-restore listener (test proves nothing)"
! grep -qa "REDIS00" "$W/stranger.bin" || fail "a stranger on the host was served the RDB by the live restore"
[ "$(rcli "$P3" CONFIG GET masterauth | tail -1)" = "operator-masterauth-$$" ] || fail "live restore did not put masterauth back"
pass "live restore: a stranger on the listener's port was refused ($(json "$W/live.json" "r['components']['redis'].get('refused_connections', 0)") connections, attempt $attempt, $(json "$W/live.json" "r['rto_seconds']") s) and got no data; masterauth put back"
[ "$(rcli "$P3" DEBUG DIGEST)" = "$digest1" ] || fail "live-restored server's DEBUG DIGEST differs"
rcli "$P3" INFO replication | grep "role:master" >/dev/null || fail "the live-restored server is still a replica"
json "$W/live.json" "r['components']['redis']['verified']" | grep -q "DEBUG DIGEST" || fail "live restore did not verify the digest"
pass "live restore: same DEBUG DIGEST, server detached (role:master), $(json "$W/live.json" "r['components']['redis']['verified']")"
export REDIS_PORT=$P1

# An ACL user with just what a backup needs, and one without replication rights.
rcli "$P1" ACL SETUSER backup on ">backup-$PW" "~*" "+info" "+ping" "+replconf" "+psync" "+sync" "+debug" >/dev/null
rcli "$P1" ACL SETUSER reader on ">reader-$PW" "~*" "+info" "+ping" >/dev/null
REDIS_USERNAME=backup REDIS_PASSWORD="backup-$PW" "$BIN" backup full --no-progress >"$W/acl.json" || fail "backup as ACL user: $(cat "$W/acl.json")"
pass "ACL user with replication rights backs up"
if REDIS_USERNAME=reader REDIS_PASSWORD="reader-$PW" "$BIN" backup full --no-progress >"$W/acl2.json" 2>/dev/null; then fail "a user without replication rights succeeded"; fi
json "$W/acl2.json" "r['components']['redis']['error']" | grep -q REDIS_USERNAME || fail "no-replication user: error does not name REDIS_USERNAME"
pass "user without replication rights: $(json "$W/acl2.json" "r['components']['redis']['error']")"
# With neither --target nor REDIS_DATA_DIR, dump.rdb goes to the server's own dir (CONFIG GET dir).
P4=$(free_port)
start_redis "$P4" "$W/redis4"
REDIS_PORT=$P4 REDIS_DATA_DIR= "$BIN" restore "$b2" --components redis --no-progress >"$W/own.json" || fail "restore to the server's dir: $(cat "$W/own.json")"
[ -s "$W/redis4/dump.rdb" ] || fail "dump.rdb not written to the server's own dir"
pass "restore without a target writes $(json "$W/own.json" "r['components']['redis']['restored_to']")"
# A server without PSYNC answers an error; the backup falls back to SYNC, which says nothing of the
# replication id: repl_id and repl_offset are absent, not invented.
P5=$(free_port)
start_redis "$P5" "$W/redis5" --rename-command PSYNC ""
rcli "$P5" SET k v >/dev/null
REDIS_PORT=$P5 REDIS_DATA_DIR= "$BIN" backup full --no-progress >"$W/sync.json" || fail "backup over SYNC: $(cat "$W/sync.json")"
[ "$(json "$W/sync.json" "'repl_id' in r['components']['redis'], 'repl_offset' in r['components']['redis'], r['components']['redis']['keys']")" = "False False 1" ] ||
  fail "backup over SYNC: $(json "$W/sync.json" "r['components']['redis']")"
pass "backup over SYNC (no PSYNC): no repl_id or repl_offset recorded"

# 5. Failures: one line naming the setting, redis failed, the files still backed up, no secret.
expect_fail() {  # expect_fail WHAT PATTERN [env...]
  local what=$1 pattern=$2; shift 2
  if env "$@" "$BIN" backup full --no-progress >"$W/f.json" 2>"$W/f.err"; then fail "$what: backup succeeded"; fi
  [ "$(json "$W/f.json" "r['components']['redis']['status']")" = failed ] || fail "$what: redis not reported failed"
  [ "$(json "$W/f.json" "r['components']['player_saves']['status']")" = success ] || fail "$what: player_saves not backed up"
  json "$W/f.json" "r['components']['redis']['error']" | grep -q "$pattern" || fail "$what: error does not name $pattern"
  ! grep -rqF "$PW" "$W/f.json" "$W/f.err" "$W/log" || fail "$what: the password appears in the output or logs"
  pass "$what: $(json "$W/f.json" "r['components']['redis']['error']")"
}
expect_fail "wrong password" REDIS_PASSWORD REDIS_PASSWORD=not-the-password
expect_fail "wrong port" REDIS_PORT REDIS_PORT="$(free_port)"
hport=$(free_port)
python3 -m http.server --bind 127.0.0.1 "$hport" >"$W/http.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$hport" 2>/dev/null && break
  sleep 0.05
done
expect_fail "not a Redis server" REDIS_PORT REDIS_PORT="$hport"
# Killed in the middle of the transfer: slow the snapshot down, then kill the server.
rcli "$P1" CONFIG SET repl-diskless-sync yes repl-diskless-sync-delay 0 rdb-key-save-delay 50 >/dev/null
(  # kill once the snapshot is being sent, whatever the machine's speed
  for _ in $(seq 1 400); do
    rcli "$P1" INFO persistence 2>/dev/null | grep "rdb_bgsave_in_progress:1" >/dev/null && break
    sleep 0.05
  done
  sleep 0.3
  kill -9 "$(cat "$W/redis1/redis.pid")"
) &
expect_fail "server killed mid-transfer" "broke off"
"$BIN" check --read-data >/dev/null 2>"$W/c.err" || fail "check after the failures: $(cat "$W/c.err")"
pass "repository valid after every failure"
