#!/usr/bin/env bash
# Physical PostgreSQL backups in `dr-test` and in an in-place `restore`: a private PostgreSQL 15
# archiving through wal-push with heartbeats every 100 ms and a physical base backup; dr-test
# recovers it into a scratch server to a random time inside the window (backup end .. newest
# commit), reports the target and recovered_to, stops and removes the scratch server, and leaves
# the live server untouched. Then restore in place: refused while the server runs and over another
# cluster's data directory; with the server stopped it replaces the data directory (the old one
# moved aside, not deleted) and the configured server comes back with every archived heartbeat.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
trap 'heartbeat_stop; stop_pg; [ -z "${imp_pid:-}" ] || kill "$imp_pid" 2>/dev/null || true; [ -n "${KEEP_W:-}" ] || rm -rf "$W"' EXIT

unset PLAYER_SAVES_DIR CONFIG_DIRS APP_DIR
export DB_BACKUP_METHOD=physical DB_RECOVERY_TIMEOUT=120
mkdir -p "$W/tmp"; chmod 755 "$W/tmp"; export TMPDIR=$W/tmp
"$BIN" init >/dev/null
repo_for_pg
write_wal_push_script
PG_OPTS="-c wal_level=replica -c max_wal_senders=5 -c archive_mode=on -c archive_timeout=60 \
  -c 'archive_command=$W/wal-push.sh %p'"
start_pg
export DB_NAME=postgres
heartbeat_start postgres
sleep 2
pg_as "$BIN" backup full --no-progress >"$W/b1.json" || fail "backup: $(cat "$W/b1.json")"
[ "$(json "$W/b1.json" "r['components']['database']['method']")" = physical ] || fail "not physical: $(cat "$W/b1.json")"
sleep 6
psql_ postgres -At -c "SELECT pg_switch_wal()" >/dev/null
wait_archived
pass "physical backup, 6 s of heartbeats archived after it"

# 1. dr-test: a random time in the window, recovered in a scratch server, the live one untouched.
live_pid=$(head -1 "$PGD/data/postmaster.pid")
before=$(psql_ postgres -At -c "SELECT count(*) FROM heartbeat")
"$BIN" dr-test >"$W/d1.json" 2>"$W/d1.err" || fail "dr-test: $(cat "$W/d1.json" "$W/d1.err")"
p() { json "$W/d1.json" "r['point_in_time']$1"; }
[ "$(p "['target']")" = time ] || fail "target: $(cat "$W/d1.json")"
python3 - "$W/d1.json" <<'PY' || fail "point_in_time: $(json "$W/d1.json" "json.dumps(r['point_in_time'])")"
import datetime, json, sys
r = json.load(open(sys.argv[1])); p = r["point_in_time"]
iso = lambda s: datetime.datetime.fromisoformat(s).timestamp()
frm, to, t = iso(p["window"]["from_time"]), iso(p["window"]["to_time"]), p["target_time_unix"]
got = p["recovered_to"]["time_unix"]
assert frm <= t < to, (frm, t, to)
assert to - frm > 4, "window of %.1f s for 6 s of heartbeats" % (to - frm)
assert t - 1.0 < got <= t + 1e-6, ("recovered_to", got, "target", t)  # heartbeats every 0.1 s
assert p["rto_seconds"] > 0 and p["amcheck"] == "ok"
assert r["components"]["database"]["success"] and r["rto_seconds"] > 0
assert r["components"]["database"]["stopped"] is True
# The database's recovery point is where the replay ended, not the backup's time.
rp = r["recovery_points"]["database"]
assert rp["recovered_to_unix"] == got, (rp, got)
start = datetime.datetime.fromisoformat(r["start_time"]).timestamp()
assert abs(rp["recovery_point_seconds"] - (start - got)) < 1e-3, (rp, start)
PY
scratch=$(json "$W/d1.json" "r['scratch']['directory']")
[ ! -e "$scratch" ] || fail "the scratch directory $scratch was not removed"
ps -eo args | grep -F "$scratch" | grep -v grep && fail "a process still runs in $scratch"
[ "$(head -1 "$PGD/data/postmaster.pid")" = "$live_pid" ] || fail "the live server was restarted"
after=$(psql_ postgres -At -c "SELECT count(*) FROM heartbeat")
[ "$after" -gt "$before" ] || fail "the live server stopped taking heartbeats ($before, $after)"
[ "$(psql_ postgres -At -c "SELECT failed_count FROM pg_stat_archiver")" = 0 ] || fail "the live archiver failed"
pass "dr-test: window $(p "['window']['from_time']") .. $(p "['window']['to_time']"), target $(p "['target_time']")," \
  "recovered_to $(p "['recovered_to']['time']"), rto $(p "['rto_seconds']") s; scratch removed, live server untouched"

# pg_waldump finds the window's end: one that fails is an error of the drill (not "no commit after
# the backup's end"); one that is missing leaves the drill to recover to the backup's end, saying so.
mkdir -p "$W/fakebin"
for f in "$PGBIN"/*; do ln -s "$f" "$W/fakebin/${f##*/}"; done
rm "$W/fakebin/pg_waldump"
printf '#!/bin/sh\necho "pg_waldump: error: could not read file: Input/output error" >&2\nexit 1\n' >"$W/fakebin/pg_waldump"
chmod 755 "$W/fakebin/pg_waldump"
rc=0; DB_PG_BIN_DIR=$W/fakebin "$BIN" dr-test >"$W/d2.json" 2>"$W/d2.err" || rc=$?
[ "$rc" != 0 ] && grep -q "pg_waldump exited 1: pg_waldump: error: could not read file" "$W/d2.json" "$W/d2.err" ||
  fail "a failing pg_waldump: $rc $(cat "$W/d2.json" "$W/d2.err")"
rm "$W/fakebin/pg_waldump"
DB_PG_BIN_DIR=$W/fakebin "$BIN" dr-test >"$W/d3.json" 2>"$W/d3.err" || fail "dr-test without pg_waldump: $(cat "$W/d3.json" "$W/d3.err")"
[ "$(json "$W/d3.json" "r['point_in_time']['target']")" = immediate ] &&
  json "$W/d3.json" "r['point_in_time']['note']" | grep -q "pg_waldump not found" ||
  fail "without pg_waldump: $(json "$W/d3.json" "json.dumps(r['point_in_time'])")"
pass "dr-test: a failing pg_waldump fails it; without pg_waldump it recovers to the backup's end with a note"

# 2. In place: refused while the server runs, nothing touched.
rc=0; "$BIN" restore latest --components database --latest --no-progress >"$W/ip1.json" 2>"$W/ip1.err" || rc=$?
[ "$rc" != 0 ] || fail "an in-place restore over the running server succeeded"
grep -q "the server is running" "$W/ip1.json" || fail "refusal: $(cat "$W/ip1.json" "$W/ip1.err")"
[ "$(head -1 "$PGD/data/postmaster.pid")" = "$live_pid" ] && ! ls -d "$PGD"/data.stb-* 2>/dev/null ||
  fail "the refused restore touched the data directory"
pass "in place over the running server: refused ($(json "$W/ip1.json" "r['components']['database']['error']" | cut -c1-80)...)"

# The server stopped; another cluster at the recorded path is refused and left as it was.
heartbeat_stop
last_at=$(psql_ postgres -At -c "SELECT extract(epoch FROM max(at)) FROM heartbeat")
sleep 2  # the last WAL is stored well after the last commit
psql_ postgres -At -c "SELECT pg_switch_wal()" >/dev/null
wait_archived
last=$(psql_ postgres -At -c "SELECT max(id) FROM heartbeat")
pg_as "$PGBIN/pg_ctl" -D "$PGD/data" -m fast -w stop >/dev/null
mv "$PGD/data" "$PGD/orig"
pg_as "$PGBIN/initdb" -D "$PGD/data" -U postgres >/dev/null
rc=0; "$BIN" restore latest --components database --latest --no-progress >"$W/ip2.json" 2>"$W/ip2.err" || rc=$?
[ "$rc" != 0 ] && grep -q "holds another cluster" "$W/ip2.json" || fail "another cluster: $rc $(cat "$W/ip2.json" "$W/ip2.err")"
[ -f "$PGD/data/PG_VERSION" ] && ! ls -d "$PGD"/data.stb-* 2>/dev/null || fail "the other cluster was touched"
rm -rf "$PGD/data"; ln -s orig "$PGD/data"
rc=0; "$BIN" restore latest --components database --latest --no-progress >"$W/ip4.json" 2>"$W/ip4.err" || rc=$?
[ "$rc" != 0 ] && grep -q "is a symbolic link" "$W/ip4.json" || fail "a linked data directory: $rc $(cat "$W/ip4.json")"
[ -L "$PGD/data" ] && [ -f "$PGD/orig/PG_VERSION" ] && ! ls -d "$PGD"/data.stb-* "$PGD"/orig.stb-* 2>/dev/null ||
  fail "the linked data directory was touched"
rm "$PGD/data"; mv "$PGD/orig" "$PGD/data"
pass "in place over another cluster's data directory, or through a symbolic link: refused, left as it was"

# A target after the last commit but inside the stored WAL (the WAL was stored later): PostgreSQL
# would replay everything and fail without promoting, after the lay-down. Refused first, naming
# the newest commit, with nothing laid down or moved aside.
target=$(python3 -c "import datetime; print(datetime.datetime.utcfromtimestamp($last_at + 0.5).isoformat() + 'Z')")
rc=0; "$BIN" restore latest --components database --target-time "$target" --no-progress >"$W/ip5.json" 2>"$W/ip5.err" ||
  rc=$?
[ "$rc" != 0 ] && grep -q "is after the newest commit in the stored WAL" "$W/ip5.json" ||
  fail "a target after the newest commit, in place: $rc $(cat "$W/ip5.json" "$W/ip5.err")"
[ -f "$PGD/data/PG_VERSION" ] && ! ls -d "$PGD"/data.stb-* 2>/dev/null || fail "the refused restore touched the data directory"
pass "in place to a target after the last commit: refused before the lay-down ($(json "$W/ip5.json" \
  "r['components']['database']['error']" | cut -c1-90)...)"

# With the server stopped: replaced in place, the old directory moved aside, the configured
# server (DB_START_COMMAND, its port) back with every heartbeat archived. While the configured
# server is down anything may listen at DB_HOST/DB_PORT: an impostor there (127.0.0.1 only)
# records every connection; recovery must reach its server through its private socket alone.
# Every file hashed (a `head` in this pipeline cut sort short with SIGPIPE, failing it under pipefail).
tree_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum | md5sum); }
old_hash=$(tree_hash "$PGD/data")
export DB_START_COMMAND="$(command -v runuser) -u postgres -- $PGBIN/pg_ctl -D $PGD/data -l $PGD/log -W -o '-p $DB_PORT -k $PGD -c listen_addresses=127.0.0.1' start"
[ "$(id -u)" -eq 0 ] || DB_START_COMMAND=${DB_START_COMMAND#* -- }
imp_port=$(free_port)
python3 - "$imp_port" "$W/impostor.log" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
open(sys.argv[2], "w").close()
while True:
    c, _ = s.accept()
    c.settimeout(2)
    got = "a connection"
    try:
        first = c.recv(4096)
        if first[4:8] in (b"\x04\xd2\x16\x2f", b"\x04\xd2\x16\x30"):  # SSL or GSS request: none here
            c.sendall(b"N")
            c.recv(4096)  # the startup packet
        c.sendall(b"R\0\0\0\x08\0\0\0\x03")  # send the password in clear text
        if c.recv(4096)[:1] == b"p": got += " that sent a password"
    except OSError: pass
    with open(sys.argv[2], "a") as f: f.write(got + "\n")
    c.close()
PY
imp_pid=$!
for _ in $(seq 50); do [ -e "$W/impostor.log" ] && break; sleep 0.1; done
rc=0
DB_PORT=$imp_port "$BIN" restore latest --components database --latest --no-progress >"$W/ip3.json" 2>"$W/ip3.err" ||
  rc=$?
kill "$imp_pid"; wait "$imp_pid" 2>/dev/null || true; imp_pid=
[ ! -s "$W/impostor.log" ] || fail "in-place recovery connected to DB_HOST/DB_PORT: $(cat "$W/impostor.log")"
[ "$rc" = 0 ] || fail "in-place restore: $(cat "$W/ip3.json" "$W/ip3.err")"
aside=$(json "$W/ip3.json" "r['components']['database']['previous_data_directory']")
[ "$(tree_hash "$aside")" = "$old_hash" ] ||
  fail "the previous data directory $aside is not the old one"
got=$(psql_ postgres -At -c "SELECT max(id), count(*) FROM heartbeat")
[ "$got" = "$last|$last" ] || fail "in place: max(id)|count = $got, expected $last|$last"
[ "$(json "$W/ip3.json" "r['components']['database']['amcheck']")" = ok ] || fail "amcheck: $(cat "$W/ip3.json")"
[ "$(json "$W/ip3.json" "r['components']['database']['started']")" = DB_START_COMMAND ] ||
  fail "not started as configured: $(cat "$W/ip3.json")"
pass "in place with the server stopped: heartbeats 1..$last back on port $DB_PORT, the old directory kept at" \
  "${aside##*/}; nothing connected to the impostor at DB_HOST/DB_PORT"

stop_pg
"$BIN" check --read-data >"$W/check.json" 2>"$W/check.err" || { cat "$W/check.err"; fail "check --read-data failed"; }
pass "check --read-data passes"
