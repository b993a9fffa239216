#!/usr/bin/env bash
# Servers that answer with hostile bytes: the process must end with a clean one-line error and
# exit 1, never a signal. A fake Redis on loopback answers every command with "*1\r\n" repeated
# 100000 times (this used to recurse until the stack ran out: exit 139).
source "$(dirname "$0")/lib.sh" "$1"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT

# fake_server PORT PAYLOAD-PYTHON-EXPR: answers each request on each connection with the payload.
fake_server() {
  python3 - "$1" "$2" <<'PY' &
import socket, sys, threading
port, payload = int(sys.argv[1]), eval(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
def serve(c):
    try:
        while c.recv(65536):
            c.sendall(payload)
    except OSError:
        pass
    c.close()
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PY
  pids+=($!)
  for _ in $(seq 1 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$1" 2>/dev/null && return
    sleep 0.05
  done
  fail "the fake server on port $1 did not start"
}

make_data 5
"$BIN" init >/dev/null

P=$(free_port)
fake_server "$P" 'b"*1\r\n" * 100000'
set +e
REDIS_HOST=127.0.0.1 REDIS_PORT=$P "$BIN" backup full --no-progress >"$W/out.json" 2>"$W/err.txt"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "backup against a Redis sending deeply nested arrays exited $rc, not 1: $(tail -3 "$W/err.txt")"
json "$W/out.json" "r['components']['redis']['error']" | grep "nested deeper than" >/dev/null ||
  fail "the report does not say what was wrong: $(cat "$W/out.json")"
pass "deeply nested RESP from a fake Redis: exit 1 with '$(json "$W/out.json" "r['components']['redis']['error']")'"

P2=$(free_port)
fake_server "$P2" 'b":" + b"9" * 400 + b"\r\n$" + b"9" * 400 + b"\r\n"'
set +e
REDIS_HOST=127.0.0.1 REDIS_PORT=$P2 "$BIN" backup full --no-progress >"$W/out2.json" 2>"$W/err2.txt"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "backup against a Redis sending 400-digit numbers exited $rc, not 1"
pass "400-digit RESP numbers from a fake Redis: exit 1"

"$BIN" check --read-data >/dev/null || fail "check --read-data after the failed backups"
pass "repository intact after the failed backups"
