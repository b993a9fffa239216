# The CockroachDB stand-in for the e2e tests (sourced after lib.sh): crdb_standin, a PostgreSQL-wire
# server answering as CockroachDB v23.1 documents (written from the documentation; no live cluster),
# the secrets the tests look for, and start_standin.
STANDIN=$(dirname "$BIN")/test/crdb_standin
[ -x "$STANDIN" ] || fail "crdb_standin is not built (ninja crdb_standin)"
PW='crdb-Pw-7731'
AWS_SECRET='aws/SECRET+5521xyz' AWS_SECRET_IN_URI='aws%2FSECRET%2B5521xyz'
# start_standin runs in $(...), a subshell: each server's pid goes to $W/NAME.pid for the trap.
trap 'for f in "$W"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
# start_standin NAME [args]: serves on a free port written to $W/NAME.port, statements to $W/NAME.sql,
# with the tables of STANDIN_TABLES (db.schema.name=rows ...).
start_standin() {
  local name=$1 t tables=()
  shift
  for t in $STANDIN_TABLES; do tables+=(--table "$t"); done
  "$STANDIN" --port 0 --port-file "$W/$name.port" --log "$W/$name.sql" --password "$PW" "${tables[@]}" "$@" \
    >"$W/$name.out" 2>"$W/$name.err" &
  echo $! >"$W/$name.pid"
  for _ in $(seq 50); do [ -s "$W/$name.port" ] && break; sleep 0.1; done
  [ -s "$W/$name.port" ] || fail "crdb_standin did not start: $(cat "$W/$name.err")"
  cat "$W/$name.port"
}
