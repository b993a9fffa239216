#!/usr/bin/env bash
# The redis component over TLS against a real redis-server 7 with a TLS-only port: the server's
# certificate is verified (REDIS_TLS_CA_CERT), a certificate from another CA is refused with an
# error naming the setting, and plaintext against a TLS port fails clearly.
source "$(dirname "$0")/lib.sh" "$1"
command -v redis-server >/dev/null && command -v openssl >/dev/null || fail "redis-server and openssl are needed (scripts/install-deps.sh)"
PW=tls-secret-$$
T=$W/tls
mkdir -p "$T"
cert() {  # cert NAME: a CA and a server certificate for 127.0.0.1 / localhost signed by it
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1-ca.key" -out "$T/$1-ca.crt" -days 1 -subj "/CN=$1-ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$T/ext.cnf"
  openssl x509 -req -in "$T/$1.csr" -CA "$T/$1-ca.crt" -CAkey "$T/$1-ca.key" -CAcreateserial -out "$T/$1.crt" -days 1 \
    -extfile "$T/ext.cnf" 2>/dev/null
}
cert server
cert other
PORT=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
redis-server --port 0 --tls-port "$PORT" --bind 127.0.0.1 --tls-cert-file "$T/server.crt" --tls-key-file "$T/server.key" \
  --tls-ca-cert-file "$T/server-ca.crt" --tls-auth-clients no --requirepass "$PW" --enable-debug-command local \
  --save "" --dir "$W" --daemonize yes --pidfile "$W/redis.pid" --logfile "$W/redis.log"
trap 'kill -9 "$(cat "$W/redis.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$W"' EXIT
rcli() { redis-cli --tls --cacert "$T/server-ca.crt" -p "$PORT" -a "$PW" --no-auth-warning "$@"; }
for _ in $(seq 1 100); do rcli PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
rcli DEBUG POPULATE 20000 k 32 >/dev/null
digest=$(rcli DEBUG DIGEST)
export REDIS_HOST=127.0.0.1 REDIS_PORT=$PORT REDIS_PASSWORD=$PW REDIS_TLS=yes REDIS_TLS_CA_CERT=$T/server-ca.crt
export PLAYER_SAVES_DIR= CONFIG_DIRS= APP_DIR=
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >"$W/b.json" || fail "backup over TLS: $(cat "$W/b.json")"
"$BIN" restore latest --components redis --target "$W/r" --no-progress >/dev/null || fail "restore"
P2=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
redis-server --port "$P2" --bind 127.0.0.1 --dir "$W/r/redis" --save "" --enable-debug-command local --daemonize yes \
  --pidfile "$W/r2.pid" --logfile "$W/r2.log"
for _ in $(seq 1 100); do redis-cli -p "$P2" PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
got=$(redis-cli -p "$P2" DEBUG DIGEST); kill -9 "$(cat "$W/r2.pid")"
[ "$got" = "$digest" ] || fail "restored data differs (digest $got, source $digest)"
pass "backup over TLS with a verified certificate restores to the same DEBUG DIGEST"

if REDIS_TLS_CA_CERT=$T/other-ca.crt "$BIN" backup full --no-progress >"$W/f.json" 2>/dev/null; then fail "an untrusted certificate was accepted"; fi
json "$W/f.json" "r['components']['redis']['error']" | grep -q "REDIS_TLS_CA_CERT" || fail "untrusted certificate: error does not name REDIS_TLS_CA_CERT"
pass "untrusted certificate: $(json "$W/f.json" "r['components']['redis']['error']")"
if REDIS_TLS_SERVER_NAME=not-this-host "$BIN" backup full --no-progress >"$W/f.json" 2>/dev/null; then fail "a wrong server name was accepted"; fi
pass "wrong server name: $(json "$W/f.json" "r['components']['redis']['error']")"
if REDIS_TLS=no "$BIN" backup full --no-progress >"$W/f.json" 2>/dev/null; then fail "plaintext against a TLS port succeeded"; fi
json "$W/f.json" "r['components']['redis']['error']" | grep -q "REDIS_TLS" || fail "plaintext against TLS: error does not mention REDIS_TLS"
pass "plaintext against TLS: $(json "$W/f.json" "r['components']['redis']['error']")"
! grep -rqF "$PW" "$W"/*.json "$W/log" || fail "the password appears in the output or logs"
