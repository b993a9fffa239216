#!/usr/bin/env bash
# Physical PostgreSQL base backups (issue 16, WP1) against a private PostgreSQL 15 with a
# tablespace: DB_BACKUP_METHOD=physical without archiving (WAL included), the server's manifest is verified, a second
# backup after 2% of the rows changed stores little new data, the backup laid down (WAL
# included) starts with pg_ctl and holds the source's content, check --read-data passes; a role
# without REPLICATION falls back to pg_dump (auto) or fails (physical), naming ALTER ROLE; auto
# without WAL archiving uses pg_dump naming it, and with archive_command = wal-push goes physical.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/pg_lib.sh"
LAYDOWN=$(dirname "$BIN")/test/pg_laydown_tool
[ -x "$LAYDOWN" ] || fail "pg_laydown_tool is not built (ninja pg_laydown_tool)"
R_PORT=
stop_restored() { [ -f "$W/r/postmaster.pid" ] && pg_as "$PGBIN/pg_ctl" -D "$W/r" -m immediate stop >/dev/null 2>&1 || true; }
trap 'stop_restored; stop_pg; [ -n "${KEEP_W:-}" ] || rm -rf "$W"' EXIT
unset PLAYER_SAVES_DIR CONFIG_DIRS APP_DIR
export DB_BACKUP_METHOD=physical

"$BIN" init >/dev/null
PG_OPTS="-c wal_level=replica -c max_wal_senders=5" start_pg
export DB_NAME=game
psql_ postgres -c "CREATE DATABASE game"
mkdir -p "$W/ts"
[ "$(id -u)" -eq 0 ] && chown postgres "$W/ts"
psql_ postgres -c "CREATE TABLESPACE ts LOCATION '$W/ts'"
TS_OID=$(psql_ postgres -At -c "SELECT oid FROM pg_tablespace WHERE spcname = 'ts'")
PGPASSWORD=$PG_PW $PGBIN/pgbench -h 127.0.0.1 -p "$DB_PORT" -U postgres -i -s 10 -q game >/dev/null 2>&1 ||
  fail "pgbench -i"
psql_ game -c "CREATE TABLE in_ts (id int PRIMARY KEY, v text) TABLESPACE ts" \
  -c "INSERT INTO in_ts SELECT g, md5(g::text) FROM generate_series(1, 20000) g"

# A content hash of every table (psql args select the server).
content_hash() {
  PGPASSWORD=$PG_PW psql -X -At -U postgres -d game "$@" -c "SELECT md5(string_agg(h, ',' ORDER BY h)) FROM (
    SELECT 'a' || md5(string_agg(t::text, ',' ORDER BY aid)) h FROM pgbench_accounts t UNION ALL
    SELECT 'b' || md5(string_agg(t::text, ',' ORDER BY bid)) FROM pgbench_branches t UNION ALL
    SELECT 't' || md5(string_agg(t::text, ',' ORDER BY tid)) FROM pgbench_tellers t UNION ALL
    SELECT 's' || md5(string_agg(t::text, ',' ORDER BY id)) FROM in_ts t) x"
}

# 1. A physical full backup (the role can replicate, wal_level replica, senders free).
h1=$(content_hash -h 127.0.0.1 -p "$DB_PORT")
"$BIN" backup full --no-progress >"$W/b1.json" || fail "backup: $(cat "$W/b1.json")"
db() { json "$1" "r['components']['database']$2"; }
[ "$(db "$W/b1.json" "['method']")" = physical ] || fail "method: $(cat "$W/b1.json")"
[ "$(db "$W/b1.json" "['manifest_verified']")" = True ] || fail "manifest not verified: $(cat "$W/b1.json")"
[ "$(db "$W/b1.json" "['wal_source']")" = included ] || fail "wal_source: $(cat "$W/b1.json")"
db "$W/b1.json" "['warnings']" | grep -q "no WAL archiving" || fail "no warning about WAL archiving"
[ "$(db "$W/b1.json" "['tablespaces'][0]['oid']")" = "$TS_OID" ] || fail "tablespace: $(cat "$W/b1.json")"
id1=$(json "$W/b1.json" "r['backup_id']")
size1=$(db "$W/b1.json" "['size_bytes']")
secs1=$(db "$W/b1.json" "['duration_seconds']")
pass "physical backup: $size1 bytes, $(db "$W/b1.json" "['files']") files in ${secs1}s" \
  "($(python3 -c "print(round($size1 / 1048576 / $secs1, 1))") MB/s), $(db "$W/b1.json" "['start_lsn']")..$(db "$W/b1.json" "['end_lsn']")"

# 2. 2% of the accounts change; the second backup stores little new.
psql_ game -c "UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid <= 20000"
sleep 1
"$BIN" backup full --no-progress >"$W/b2.json" || fail "second backup: $(cat "$W/b2.json")"
new2=$(json "$W/b2.json" "r['repository']['new_bytes']")
size2=$(db "$W/b2.json" "['size_bytes']")
ratio=$(python3 -c "print(round(100.0 * $new2 / $size2, 1))")
pass "second backup after 2% of rows changed: $new2 new bytes of $size2 ($ratio%)"
python3 -c "import sys; sys.exit(0 if $new2 < 0.25 * $size2 else 1)" || fail "second backup stored $ratio% new"

# 3. Lay the first backup down (tablespace mapped elsewhere), start it, compare the content.
"$LAYDOWN" "$id1" "$W/r" "$TS_OID=$W/r.ts" >"$W/laydown.json" 2>"$W/laydown.err" || fail "lay-down: $(cat "$W/laydown.err")"
[ "$(json "$W/laydown.json" "r['manifest_check']['crc32c_files'] == r['manifest_check']['files'] > 0")" = True ] ||
  fail "manifest check: $(cat "$W/laydown.json")"
[ "$(readlink "$W/r/pg_tblspc/$TS_OID")" = "$W/r.ts" ] || fail "tablespace link: $(readlink "$W/r/pg_tblspc/$TS_OID")"
[ -f "$W/r/backup_label" ] && [ -f "$W/r/backup_manifest" ] || fail "backup_label or backup_manifest missing"
# A second lay-down into the now non-empty directory is refused.
if "$LAYDOWN" "$id1" "$W/r" 2>"$W/again.err"; then fail "lay-down into a non-empty directory succeeded"; fi
grep -q "not empty" "$W/again.err" || fail "non-empty target: $(cat "$W/again.err")"
R_PORT=$(pg_free_port)
pg_as "$PGBIN/pg_ctl" -D "$W/r" -l "$PGD/r.log" -w -t 120 -o "-p $R_PORT -k $PGD -c listen_addresses=127.0.0.1" start \
  >/dev/null || fail "the laid-down server did not start: $(tail -5 "$PGD/r.log")"
h_r=$(content_hash -h 127.0.0.1 -p "$R_PORT")
[ "$h_r" = "$h1" ] || fail "restored content differs: $h_r vs $h1"
stop_restored
pass "laid down, every file's CRC-32C matches backup_manifest, started with pg_ctl, content equals the source at backup time"

# 3b. restore recovers the same backup (its WAL included, none in the WAL store) to its end; a
# point in time is refused before anything is laid down, naming what point-in-time recovery needs.
rc=0; "$BIN" restore "$id1" --components database --target-time "$(date -u +%FT%TZ)" --target-dir "$W/r2" \
  --no-progress >"$W/r2t.json" 2>"$W/r2t.err" || rc=$?
[ "$rc" -ne 0 ] || fail "restore --target-time of a backup without archived WAL succeeded"
grep -q "DB_WAL_SOURCE included" "$W/r2t.json" "$W/r2t.err" || fail "target-time refusal: $(cat "$W/r2t.json" "$W/r2t.err")"
[ ! -e "$W/r2/PG_VERSION" ] || fail "the refused restore laid files down"
"$BIN" restore "$id1" --components database --target-dir "$W/r2" --stop-after --no-progress >"$W/r2.json" 2>"$W/r2.err" ||
  fail "restore of an included-WAL backup: $(cat "$W/r2.err" "$W/r2.json")"
lsn_num() { python3 -c "import sys; h, l = sys.argv[1].split('/'); print(int(h, 16) << 32 | int(l, 16))" "$1"; }
[ "$(lsn_num "$(json "$W/r2.json" "r['components']['database']['recovered_to']['lsn']")")" -ge \
  "$(lsn_num "$(db "$W/b1.json" "['end_lsn']")")" ] || fail "recovered_to is before the backup's end: $(cat "$W/r2.json")"
pg_as "$PGBIN/pg_ctl" -D "$W/r2" -l "$PGD/r2.log" -w -t 120 -o "-p $(pg_free_port) -k $PGD -c listen_addresses=127.0.0.1" start \
  >/dev/null || fail "the restored server did not start again: $(tail -5 "$PGD/r2.log")"
h_r2=$(content_hash -h "$PGD" -p "$(sed -n 4p "$W/r2/postmaster.pid")")
pg_as "$PGBIN/pg_ctl" -D "$W/r2" -m fast -w stop >/dev/null
[ "$h_r2" = "$h1" ] || fail "restored content differs: $h_r2 vs $h1"
pass "restore of the included-WAL backup: recovered to its end_lsn, content equals the source; --target-time refused"

# 4. A role without REPLICATION: auto falls back to pg_dump, physical fails; both name ALTER ROLE.
psql_ postgres -c "CREATE ROLE plain LOGIN PASSWORD 'plain-pw'" -c "CREATE DATABASE small OWNER plain"
PGPASSWORD=plain-pw psql -X -q -h 127.0.0.1 -p "$DB_PORT" -U plain -d small -c "CREATE TABLE t AS SELECT 1 AS x"
DB_BACKUP_METHOD=auto DB_USER=plain DB_PASSWORD=plain-pw DB_NAME=small "$BIN" backup full --no-progress >"$W/b3.json" ||
  fail "auto backup as plain: $(cat "$W/b3.json")"
[ "$(db "$W/b3.json" "['method']")" = logical ] || fail "fallback method: $(cat "$W/b3.json")"
db "$W/b3.json" "['warnings']" | grep -q "DB_USER 'plain' lacks the REPLICATION attribute (ALTER ROLE plain REPLICATION)" ||
  fail "fallback warning: $(cat "$W/b3.json")"
if DB_BACKUP_METHOD=physical DB_USER=plain DB_PASSWORD=plain-pw DB_NAME=small "$BIN" backup full --no-progress \
  >"$W/b4.json" 2>"$W/b4.err"; then
  fail "DB_BACKUP_METHOD=physical succeeded without REPLICATION"
fi
grep -q "ALTER ROLE plain REPLICATION" "$W/b4.json" "$W/b4.err" || fail "physical error: $(cat "$W/b4.json" "$W/b4.err")"
pass "without REPLICATION: auto used pg_dump with the ALTER ROLE warning; physical failed naming it"
# auto with a role that may replicate but no archive_command = wal-push: restore and dr-test
# recover physical backups from archived WAL, so auto stays with pg_dump and says why.
DB_BACKUP_METHOD=auto DB_NAME=small "$BIN" backup full --no-progress >"$W/b3a.json" || fail "auto: $(cat "$W/b3a.json")"
[ "$(db "$W/b3a.json" "['method']")" = logical ] && db "$W/b3a.json" "['warnings']" | grep -q "no WAL archiving" ||
  fail "auto without archiving: $(cat "$W/b3a.json")"
pass "auto without WAL archiving: pg_dump with the 'no WAL archiving' warning"

# 5. With archive_command = wal-push, auto takes the WAL from the archive: the snapshot is written
# only once the WAL store holds start..end, and check follows the backup's WAL.
repo_for_pg
write_wal_push_script
psql_ postgres -c "ALTER SYSTEM SET archive_mode = on" -c "ALTER SYSTEM SET archive_command = '$W/wal-push.sh %p'"
pg_as "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w -m fast restart >/dev/null
DB_BACKUP_METHOD=auto "$BIN" backup full --no-progress >"$W/b5.json" || fail "backup with archiving: $(cat "$W/b5.json")"
[ "$(db "$W/b5.json" "['wal_source']")" = archive ] || fail "wal_source: $(cat "$W/b5.json")"
[ "$(db "$W/b5.json" "['method']")" = physical ] || fail "method with archiving: $(cat "$W/b5.json")"
pass "archive_command = wal-push: wal_source archive, $(db "$W/b5.json" "['start_lsn']")..$(db "$W/b5.json" "['end_lsn']") in the WAL store"
repo_for_pg

"$BIN" check --read-data >"$W/check.out" 2>&1 || fail "check --read-data: $(tail -5 "$W/check.out")"
pass "check --read-data"
