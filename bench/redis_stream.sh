#!/usr/bin/env bash
# Redis stream capture (issue 14), each part on its own redis-server 7 on loopback (free port):
#   1. overhead: `redis-benchmark -t set,incr,lpush,hset -n N -P 16` (appendonly yes, everysec, the
#      default rewrite) without a replica, then with `redis-stream` attached, RUNS alternating pairs
#      from an empty data set; median ops/s, the change, the capture's CPU and peak RSS
#   2. bytes stored per million writes: WRITES SETs of random keys and 100-byte values (base64 of
#      random bytes: little to compress) through `redis-cli --pipe`; the new stream segments under
#      redis/ beside the replication stream's bytes and the growth of Redis' own AOF
#   3. restore of a FILL_KEYS x VALUE_BYTES Redis (DEBUG POPULATE, 3,000,000 x 512 is about 2 GB of
#      used_memory) to a time in the middle of EXTRA_SECONDS of writes after a backup: wall from the
#      `restore ... --target-time T` command to the restored server answering PING and DBSIZE
#   bench/redis_stream.sh                 RUNS=5 N=2000000 WRITES=1000000 FILL_KEYS=3000000
#   SCALE=small bench/redis_stream.sh     a check of the script in under 2 minutes
#   PARTS=13 runs parts 1 and 3 only; BIN=build/spacetime-backup (the default)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${BIN:-$ROOT/build/spacetime-backup}")
[ -x "$BIN" ] || { echo "build first: $BIN" >&2; exit 1; }
command -v redis-benchmark >/dev/null || { echo "redis-benchmark is not installed (scripts/install-deps.sh)" >&2; exit 1; }
case ${SCALE:-full} in
  small) : "${RUNS:=2}" "${N:=50000}" "${WRITES:=100000}" "${FILL_KEYS:=100000}" "${EXTRA_SECONDS:=4}" ;;
  full) : "${RUNS:=5}" "${N:=2000000}" "${WRITES:=1000000}" "${FILL_KEYS:=3000000}" "${EXTRA_SECONDS:=20}" ;;
  *) echo "SCALE is small or full" >&2; exit 2 ;;
esac
VALUE_BYTES=${VALUE_BYTES:-512} PARTS=${PARTS:-123}
W=$(mktemp -d /tmp/stb-redis-stream-bench.XXXXXX)
PW=bench-not-secret
redis_pids=() tpid="" cpid="" bgpids=()
cleanup() {
  local p
  for p in "$cpid" "${bgpids[@]}" "${redis_pids[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  [ -n "$tpid" ] && wait "$tpid" 2>/dev/null || true
  [ -n "${KEEP_W:-}" ] || rm -rf "$W"  # KEEP_W=1 keeps it
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
rcli() { local p=$1; shift; redis-cli -p "$p" -a "$PW" --no-auth-warning "$@"; }
info() { rcli "$1" INFO "$2" | tr -d '\r' | sed -n "s/^$3:\(.*\)/\1/p"; }
export TZ=UTC PLAYER_SAVES_DIR= CONFIG_DIRS= APP_DIR= REDIS_PASSWORD=$PW REDIS_HOST=127.0.0.1 REDIS_STREAM_INTERVAL=1
unset DB_HOST BACKUP_PASSPHRASE BACKUP_CONFIG REDIS_STREAM_SOURCE
export BACKUP_ENCRYPTION_KEY=$W/key
"$BIN" key generate "$BACKUP_ENCRYPTION_KEY" 2>/dev/null

# start_redis NAME [OPTION...]: a server in $W/NAME/srv on a free port, its port in $PORT.
start_redis() {
  local name=$1/srv; shift
  PORT=$(free_port)
  mkdir -p "$W/$name"
  redis-server --port "$PORT" --bind 127.0.0.1 --dir "$W/$name" --requirepass "$PW" --save "" \
    --repl-diskless-sync-delay 0 --daemonize yes --pidfile "$W/$name/redis.pid" --logfile "$W/$name/redis.log" "$@"
  for _ in $(seq 1 600); do
    [ -s "$W/$name/redis.pid" ] && rcli "$PORT" PING 2>/dev/null | grep -q PONG && break
    sleep 0.05
  done
  rcli "$PORT" PING 2>/dev/null | grep -q PONG || fail "redis-server $name did not start: $(tail -3 "$W/$name/redis.log")"
  redis_pids+=("$(cat "$W/$name/redis.pid")")
}
stop_redis() {  # stop_redis PORT NAME: no save, then its files go
  local pid
  pid=$(cat "$W/$2/srv/redis.pid")
  rcli "$1" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -rf "$W/$2/srv"
}
# use_repo NAME PORT: a new repository and state directory for the capture of the server on PORT.
use_repo() {
  export BACKUP_ROOT=$W/$1/repo BACKUP_STATE_DIR=$W/$1/state BACKUP_LOG_DIR=$W/$1/log REDIS_PORT=$2
  "$BIN" init >/dev/null
}
# The capture under /usr/bin/time (wall, user, sys, peak RSS into $W/cap.time).
cap_start() {
  /usr/bin/time -f "%e %U %S %M" -o "$W/cap.time" "$BIN" redis-stream >>"$W/cap.out" 2>&1 &
  tpid=$! cpid=""
  for _ in $(seq 1 100); do cpid=$(pgrep -P "$tpid" || true); [ -n "$cpid" ] && break; sleep 0.02; done
  [ -n "$cpid" ] || fail "redis-stream did not start: $(tail -3 "$W/cap.out")"
}
# cap_synced PORT: until the newest chain is durable up to the master's offset as read now.
cap_synced() {
  local off chain end
  off=$(info "$1" replication master_repl_offset)
  for _ in $(seq 1 6000); do
    kill -0 "$cpid" 2>/dev/null || fail "redis-stream exited: $(tail -5 "$W/cap.out")"
    # Read each time: the first replica's full resync gives the master a new replication id.
    chain=$(info "$1" replication master_replid)
    if "$BIN" redis-stream --status >"$W/status.json" 2>/dev/null; then
      end=$(json "$W/status.json" "max([c.get('durable_end', -1) for c in r['chains'] if c.get('replid') == '$chain'] or [-1])")
      [ "$end" -ge "$off" ] && return 0
    fi
    sleep 0.1
  done
  fail "the capture did not reach offset $off in 600 s: $(tail -5 "$W/cap.out")"
}
cap_stop() {  # SIGTERM; leaves "wall user sys rss_kib" in $CAP
  kill -TERM "$cpid"
  wait "$tpid" || fail "redis-stream did not exit 0 on SIGTERM: $(tail -5 "$W/cap.out")"
  tpid="" cpid=""
  CAP=$(tail -1 "$W/cap.time")
}
now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(redis-server --version | cut -d' ' -f1-3), $(nproc) CPUs, $(free -g | awk '/^Mem:/{print $2}') GiB"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PARTS=$PARTS SCALE=${SCALE:-full} RUNS=$RUNS N=$N WRITES=$WRITES FILL_KEYS=$FILL_KEYS VALUE_BYTES=$VALUE_BYTES EXTRA_SECONDS=$EXTRA_SECONDS"
echo

# ---- 1. Throughput without and with the capture ----
if [[ $PARTS == *1* ]]; then
start_redis p1 --appendonly yes --appendfsync everysec
P1=$PORT
use_repo p1 "$P1"
bench_run() {  # bench_run off|on I
  local mode=$1 i=$2 t0 t1
  rcli "$P1" FLUSHALL >/dev/null
  for _ in $(seq 1 600); do
    [ "$(info "$P1" persistence aof_rewrite_in_progress)$(info "$P1" persistence aof_rewrite_scheduled)" = 00 ] && break
    sleep 0.1
  done
  if [ "$mode" = on ]; then cap_start; cap_synced "$P1"; fi
  t0=$(now)
  redis-benchmark -h 127.0.0.1 -p "$P1" -a "$PW" -t set,incr,lpush,hset -n "$N" -P 16 -q --csv \
    >"$W/bench.$mode.$i.csv" 2>"$W/bench.err" || fail "redis-benchmark: $(tail -3 "$W/bench.err")"
  t1=$(now)
  echo "$(secs "$t0" "$t1")" >"$W/bench.$mode.$i.wall"
  if [ "$mode" = on ]; then
    cap_synced "$P1"
    cap_stop
    echo "$CAP" >"$W/bench.on.$i.cap"
  fi
  printf '%s' "." >&2
}
echo -n "part 1: $RUNS pairs of runs " >&2
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) = 1 ]; then bench_run off "$i"; bench_run on "$i"; else bench_run on "$i"; bench_run off "$i"; fi
done
echo >&2
"$BIN" redis-stream --status >"$W/status.json"
[ "$(json "$W/status.json" "all(c['missing'] == 0 for c in r['chains'] if c['has_meta'])")" = True ] \
  || fail "the captured chain has gaps: $(cat "$W/status.json")"
echo "Part 1: redis-benchmark -t set,incr,lpush,hset -n $N -P 16 (appendonly yes, everysec), $RUNS runs each, alternating"
echo
python3 - "$W" "$RUNS" <<'PY'
import csv, statistics, sys
w, runs = sys.argv[1], int(sys.argv[2])
rps = {"off": {}, "on": {}}
walls = {"off": [], "on": []}
for mode in rps:
    for i in range(1, runs + 1):
        with open(f"{w}/bench.{mode}.{i}.csv") as f:
            for row in csv.reader(f):
                if row and row[0] != "test":
                    rps[mode].setdefault(row[0], []).append(float(row[1]))
        walls[mode].append(float(open(f"{w}/bench.{mode}.{i}.wall").read()))
print("| test | without capture, ops/s | with capture, ops/s | change | runs (without / with) |")
print("|---|---:|---:|---:|---|")
for t in rps["off"]:
    a, b = statistics.median(rps["off"][t]), statistics.median(rps["on"][t])
    spread = lambda v: "/".join(f"{x / 1000:.0f}k" for x in v)
    print(f"| {t} | {a:,.0f} | {b:,.0f} | {100 * (b - a) / a:+.1f}% | {spread(rps['off'][t])} ; {spread(rps['on'][t])} |")
cpu, rss, share = [], [], []
for i in range(1, runs + 1):
    wall, user, sys_, kib = open(f"{w}/bench.on.{i}.cap").read().split()
    cpu.append(float(user) + float(sys_)); rss.append(int(kib))
    share.append(cpu[-1] / walls["on"][i - 1])
print()
print(f"benchmark wall per run (median): without {statistics.median(walls['off']):.1f} s, with {statistics.median(walls['on']):.1f} s")
print(f"capture: CPU (user+sys) per run median {statistics.median(cpu):.2f} s = {100 * statistics.median(share):.0f}% of one core "
      f"over the benchmark; peak RSS {max(rss) / 1024:.0f} MiB")
PY
echo "load average after part 1: $(cut -d' ' -f1-3 /proc/loadavg)"
stop_redis "$P1" p1
rm -rf "$W/p1"  # disk: the next part starts empty
fi
echo

# ---- 2. Bytes stored per million writes ----
if [[ $PARTS == *2* ]]; then
python3 - "$W/writes.resp" "$WRITES" <<'PY'
import base64, random, sys
path, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(14)
with open(path, "wb") as f:
    out = []
    for i in range(n):
        key = b"player:%07d" % rng.randrange(n)
        val = base64.b64encode(rng.randbytes(75))  # 100 bytes
        out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(key), key, val))
        if len(out) == 10000:
            f.write(b"".join(out)); out = []
    f.write(b"".join(out))
PY
start_redis p2 --appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage 0
P2=$PORT
use_repo p2 "$P2"
aof_bytes() { find "$W/p2/srv/appendonlydir" -name '*.incr.aof' -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
seg_bytes() { find "$BACKUP_ROOT" -path '*/redis/*/seg/*' -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
seg_count() { find "$BACKUP_ROOT" -path '*/redis/*/seg/*' -type f | wc -l; }
seg_du() {  # allocated bytes of the segment objects
  find "$BACKUP_ROOT" -path '*/redis/*/seg/*' -type f -printf '%b\n' | awk '{s += $1} END {print s * 512}'
}
cap_start
cap_synced "$P2"
rcli "$P2" BGREWRITEAOF >/dev/null 2>&1 || true
for _ in $(seq 1 600); do [ "$(info "$P2" persistence aof_rewrite_in_progress)$(info "$P2" persistence aof_rewrite_scheduled)" = 00 ] && break; sleep 0.1; done
cap_synced "$P2"
off0=$(info "$P2" replication master_repl_offset) aof0=$(aof_bytes) seg0=$(seg_bytes) n0=$(seg_count) du0=$(seg_du)
t0=$(now)
redis-cli -p "$P2" -a "$PW" --no-auth-warning --pipe <"$W/writes.resp" >"$W/pipe.out" 2>&1 || fail "redis-cli --pipe: $(tail -3 "$W/pipe.out")"
t1=$(now)
grep -q "errors: 0, replies: $WRITES" "$W/pipe.out" || fail "redis-cli --pipe: $(cat "$W/pipe.out")"
cap_synced "$P2"
cap_stop
sleep 1.2  # everysec: the AOF's last second reaches the file
off1=$(info "$P2" replication master_repl_offset) aof1=$(aof_bytes) seg1=$(seg_bytes) n1=$(seg_count) du1=$(seg_du)
echo "Part 2: $WRITES SETs of random keys (player:NNNNNNN) and 100-byte values (base64 of random bytes) in $(secs "$t0" "$t1") s by redis-cli --pipe"
echo
python3 - "$WRITES" "$((off1 - off0))" "$((aof1 - aof0))" "$((seg1 - seg0))" "$((du1 - du0))" "$((n1 - n0))" <<'PY'
import sys
n, stream, aof, seg, du, count = map(int, sys.argv[1:])
per = lambda b: f"{b * 1_000_000 / n / 1e6:,.1f} MB"
print("| | bytes | per million writes | per write |")
print("|---|---:|---:|---:|")
print(f"| replication stream (master_repl_offset growth) | {stream:,} | {per(stream)} | {stream / n:.1f} |")
print(f"| Redis' own AOF growth (appendonlydir *.incr.aof) | {aof:,} | {per(aof)} | {aof / n:.1f} |")
print(f"| stored: redis/ stream segments, {count} objects (compressed, encrypted) | {seg:,} | {per(seg)} | {seg / n:.1f} |")
print(f"| stored, allocated on disk (du) | {du:,} | {per(du)} | {du / n:.1f} |")
print()
print(f"stored / AOF growth: {seg / aof:.2f}")
PY
stop_redis "$P2" p2
rm -rf "$W/p2"
fi
rm -f "$W/writes.resp"
echo

# ---- 3. Restore to a point in time ----
if [[ $PARTS == *3* ]]; then
start_redis p3 --appendonly no --enable-debug-command local
P3=$PORT
use_repo p3 "$P3"
rcli "$P3" DEBUG POPULATE "$FILL_KEYS" player: "$VALUE_BYTES" >/dev/null
echo "Part 3: $FILL_KEYS keys x $VALUE_BYTES bytes (DEBUG POPULATE), used_memory $(info "$P3" memory used_memory_human)"
t0=$(now)
cap_start
cap_synced "$P3"
t1=$(now)
echo "| capture attached, base stored: $(secs "$t0" "$t1") s, $(json "$W/status.json" "[c['rdb_size'] for c in r['chains'] if c.get('replid')][-1]") bytes of RDB"
t0=$(now)
"$BIN" backup full --no-progress >"$W/backup.json" 2>"$W/backup.err" || fail "backup: $(tail -3 "$W/backup.err")"
t1=$(now)
echo "| backup full (redis): $(secs "$t0" "$t1") s, $(json "$W/backup.json" "r['backup_id']")"
# EXTRA_SECONDS of writes: a heartbeat every 100 ms (its value and time logged) beside a write load.
redis-benchmark -h 127.0.0.1 -p "$P3" -a "$PW" -t set -n 1000000000 -r 1000000 -d 100 -P 16 -q >/dev/null 2>&1 &
bgpids+=($!)
: >"$W/heartbeat"
for i in $(seq 1 $((EXTRA_SECONDS * 10))); do
  rcli "$P3" SET heartbeat "$i" >/dev/null
  echo "$i $(now)" >>"$W/heartbeat"
  sleep 0.1
done
kill "${bgpids[-1]}" 2>/dev/null || true
wait "${bgpids[-1]}" 2>/dev/null || true
bgpids=()
cap_synced "$P3"
cap_stop
mid=$((EXTRA_SECONDS * 5))
# T: halfway between heartbeat MID and the next one; Redis must come back with heartbeat = MID.
T=$(python3 -c "
import datetime, sys
t = dict(l.split() for l in open(sys.argv[1]))
x = (float(t[sys.argv[2]]) + float(t[str(int(sys.argv[2]) + 1)])) / 2
print(datetime.datetime.fromtimestamp(x, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3] + 'Z')" "$W/heartbeat" "$mid")
stop_redis "$P3" p3
# The lost server's configuration file, as production has it: the restore reads appendonly from it.
printf 'appendonly yes\nappenddirname appendonlydir\n' >"$W/p3/redis.conf"
RESULT=""
t0=$(now)
if REDIS_CONF=$W/p3/redis.conf "$BIN" restore latest --components redis --target-time "$T" --target "$W/r3" --no-progress >"$W/restore.json" 2>"$W/restore.err"; then
  t1=$(now)
  aof=$(find "$W/r3" -name appendonlydir -type d | head -1)
  if [ -z "$aof" ]; then
    RESULT="skipped: this build's restore wrote no appendonlydir (no replay of the Redis stream: $(find "$W/r3" -type f -printf '%P ' | head -c 200))"
  else
    R=$(free_port)
    redis-server --port "$R" --bind 127.0.0.1 --dir "$(dirname "$aof")" --appendonly yes --appenddirname appendonlydir \
      --save "" --requirepass "$PW" --daemonize yes --pidfile "$W/r3.pid" --logfile "$W/r3.log"
    for _ in $(seq 1 100); do [ -s "$W/r3.pid" ] && break; sleep 0.01; done
    redis_pids+=("$(cat "$W/r3.pid")")
    for _ in $(seq 1 36000); do rcli "$R" PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
    keys=$(rcli "$R" DBSIZE)
    t2=$(now)
    hb=$(rcli "$R" GET heartbeat)
    RESULT="restore --target-time $(secs "$t0" "$t1") s + server start until PING and DBSIZE answer $(secs "$t1" "$t2") s = $(secs "$t0" "$t2") s; DBSIZE $keys; heartbeat $hb (expected $mid)"
  fi
else
  RESULT="skipped: \`restore latest --components redis --target-time\` failed with this build: $(tail -2 "$W/restore.err" | tr '\n' ' ')"
fi
echo "| restore to $T (heartbeat $mid of $((EXTRA_SECONDS * 10))): $RESULT"
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
