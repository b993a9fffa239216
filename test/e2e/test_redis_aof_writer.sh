#!/usr/bin/env bash
# The multi-part AOF writer against a real redis-server 7: an RDB saved by one server plus a raw
# replication stream (no leading SELECT, PING/REPLCONF inside, a MULTI block) are laid down by
# redis_aof_tool; redis-check-aof accepts the manifest and a server started with --appendonly yes
# loads the base and replays the commands into the right databases; the old directory is kept aside.
source "$(dirname "$0")/lib.sh" "$1"
TOOL=$(dirname "$BIN")/test/redis_aof_tool
[ -x "$TOOL" ] || fail "redis_aof_tool is not built (ninja redis_aof_tool)"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh)"
PIDS=()
# Servers are stopped (and waited for: they write to $W until they exit) before $W is removed.
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$W"' EXIT

start() {  # DIR PORT [ARGS...]: a private server on the loopback, waited for until loaded
  local dir=$1 port=$2; shift 2
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --logfile "$dir/../redis-$port.log" "$@" &
  PIDS+=($!)
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$port" info persistence 2>/dev/null | tr -d '\r' | grep '^loading:')" = "loading:0" ] && return 0
    sleep 0.1
  done
  fail "redis-server on $port did not start: $(tail -5 "$dir/../redis-$port.log")"
}
stop() { kill "$1"; while kill -0 "$1" 2>/dev/null; do sleep 0.1; done; }
r() { local port=$1; shift; redis-cli -p "$port" "$@" | tr -d '\r'; }

mkdir -p "$W/src" "$W/dst/appendonlydir"
P1=$(free_port)
start "$W/src" "$P1" --appendonly no
r "$P1" set base1 v >/dev/null
r "$P1" -n 2 set base2 w >/dev/null
r "$P1" save >/dev/null
stop "${PIDS[0]}"
[ -s "$W/src/dump.rdb" ] || fail "no dump.rdb saved"

# The stream as a master sends it, db 2 selected before the segment starts.
python3 - "$W/stream" <<'PY'
import sys
def cmd(*a):
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in (s.encode() for s in a))
s = cmd("SET", "s1", "a") + cmd("PING") + cmd("MULTI") + cmd("INCR", "ctr") + cmd("INCR", "ctr") + cmd("EXEC")
s += cmd("REPLCONF", "GETACK", "*") + cmd("SELECT", "0") + cmd("SET", "s0", "b") + cmd("DEL", "base1")
open(sys.argv[1], "wb").write(s)
PY
echo keep > "$W/dst/appendonlydir/old"
out=$("$TOOL" "$W/dst" "$W/src/dump.rdb" "$W/stream" 2 1700000000123) || fail "redis_aof_tool failed"
replaced=$(echo "$out" | sed -n 's/^replaced=\([^ ]*\) .*/\1/p')
[ -n "$replaced" ] && [ "$(cat "$W/dst/$replaced/old")" = keep ] || fail "old appendonlydir not kept aside: $out"
echo "$out" | grep -q "commands=8" || fail "expected 8 commands written: $out"
grep -q '^#TS:1700000000' "$W/dst/appendonlydir/appendonly.aof.1.incr.aof" || fail "no #TS annotation"
cmp -s "$W/src/dump.rdb" "$W/dst/appendonlydir/appendonly.aof.1.base.rdb" || fail "base is not the RDB"
pass "AOF directory written, old one moved aside"

if command -v redis-check-aof >/dev/null; then
  redis-check-aof "$W/dst/appendonlydir/appendonly.aof.manifest" >"$W/check.log" 2>&1 ||
    fail "redis-check-aof refused the manifest: $(tail -3 "$W/check.log")"
  pass "redis-check-aof accepts the manifest"
fi

P2=$(free_port)
start "$W/dst" "$P2" --appendonly yes
[ "$(r "$P2" -n 2 get s1)" = a ] || fail "s1 not replayed into db 2"
[ "$(r "$P2" -n 2 get ctr)" = 2 ] || fail "MULTI block not replayed"
[ "$(r "$P2" -n 2 get base2)" = w ] || fail "base RDB key missing"
[ "$(r "$P2" -n 0 get s0)" = b ] || fail "s0 not replayed into db 0"
[ "$(r "$P2" -n 0 exists base1)" = 0 ] || fail "DEL base1 not replayed"
[ "$(r "$P2" config get appendonly | tail -1)" = yes ] || fail "appendonly is not on"
[ "$(r "$P2" dbsize)" = 1 ] && [ "$(r "$P2" -n 2 dbsize)" = 3 ] || fail "unexpected key counts"
pass "redis-server loaded the base and replayed the stream"
