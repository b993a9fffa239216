#!/usr/bin/env bash
# The CockroachDB path of the database component end to end against crdb_standin, a PostgreSQL-wire
# server answering as CockroachDB v23.1 documents (written from the documentation; no live cluster):
# detection, BACKUP ... INTO the collection and its job row, SHOW BACKUPS, RESTORE under a staging
# name and the swap, row counts verified; a failed job and a wrong password as one-line errors; the
# password, the encryption passphrase and the collection's secret key in no output, log or report.
source "$(dirname "$0")/lib.sh" "$1"
source "$(dirname "$0")/crdb_lib.sh"
STANDIN_TABLES="game.public.players=1200 game.public.items=37 game.ops.events=0"
make_data 20
unset CONFIG_DIRS APP_DIR
export DB_HOST=127.0.0.1 DB_PORT=$(start_standin crdb) DB_NAME=game DB_USER=root DB_PASSWORD=$PW DB_ENGINE=cockroachdb
export COCKROACH_BACKUP_URI="s3://game-backups/crdb?AWS_ACCESS_KEY_ID=AKIAEXAMPLE&AWS_SECRET_ACCESS_KEY=$AWS_SECRET_IN_URI"
"$BIN" init >/dev/null

# 1. Full backup: detected as CockroachDB, BACKUP INTO the collection, the subdirectory recorded.
"$BIN" backup full --no-progress >"$W/b1.json" 2>"$W/b1.err" || fail "backup: $(cat "$W/b1.json" "$W/b1.err")"
db() { json "$1" "r['components']['database']$2"; }
[ "$(db "$W/b1.json" "['engine']")" = cockroachdb ] || fail "engine: $(cat "$W/b1.json")"
[ "$(db "$W/b1.json" "['rows']")" = 1237 ] || fail "rows: $(cat "$W/b1.json")"
[ "$(db "$W/b1.json" "['tables']")" = 3 ] || fail "tables: $(cat "$W/b1.json")"
subdir=$(db "$W/b1.json" "['cockroach_backup']")
[[ "$subdir" =~ ^[0-9]{4}/[0-9]{2}/[0-9]{2}-[0-9]{6}\.[0-9]{2}$ ]] || fail "subdirectory '$subdir'"
grep -q "^BACKUP DATABASE \"game\" INTO 's3://game-backups/crdb?AWS_ACCESS_KEY_ID=AKIAEXAMPLE&AWS_SECRET_ACCESS_KEY=$AWS_SECRET_IN_URI' AS OF SYSTEM TIME '.*' WITH revision_history, encryption_passphrase = '[0-9a-f]\{16,\}'$" "$W/crdb.sql" ||
  fail "BACKUP statement as received: $(grep BACKUP "$W/crdb.sql")"
grep -q "^SHOW BACKUPS IN 's3://" "$W/crdb.sql" || fail "SHOW BACKUPS not sent"
passphrase=$(sed -n "s/.*encryption_passphrase = '\([0-9a-f]*\)'.*/\1/p" "$W/crdb.sql" | head -1)
"$BIN" snapshots --json >"$W/snaps.json" || fail "snapshots"
[ "$(json "$W/snaps.json" "'database' in r[0]['components']")" = True ] || fail "snapshot: $(cat "$W/snaps.json")"
pass "full backup: BACKUP INTO the collection with revision_history and a passphrase, $subdir recorded, 1237 rows in 3 tables"

# An incremental: BACKUP INTO LATEST IN, recorded against the full's subdirectory.
"$BIN" backup incremental --no-progress >"$W/b2.json" 2>"$W/b2.err" || fail "incremental: $(cat "$W/b2.json" "$W/b2.err")"
[ "$(db "$W/b2.json" "['cockroach_backup']")" = "$subdir" ] || fail "incremental's subdirectory: $(cat "$W/b2.json")"
inc_as_of=$(sed -n "s/^BACKUP DATABASE \"game\" INTO LATEST IN '[^']*' AS OF SYSTEM TIME '\([^']*\)'.*/\1/p" "$W/crdb.sql")
[ -n "$inc_as_of" ] || fail "no BACKUP INTO LATEST IN: $(grep BACKUP "$W/crdb.sql")"
pass "incremental: BACKUP INTO LATEST IN as of $inc_as_of, in $subdir"

# 2. Restore after the database was dropped: RESTORE under a staging name, renamed, counts verified.
PGPASSWORD=$PW psql -h 127.0.0.1 -p "$DB_PORT" -U root -d defaultdb -c 'DROP DATABASE "game" CASCADE' >/dev/null ||
  fail "dropping through psql"
: >"$W/crdb.sql"
"$BIN" restore latest --components database --no-progress >"$W/r1.json" 2>"$W/r1.err" ||
  fail "restore: $(cat "$W/r1.json" "$W/r1.err")"
[ "$(db "$W/r1.json" "['tables_verified']")" = 3 ] || fail "verified: $(cat "$W/r1.json")"
grep -q "^RESTORE DATABASE \"game\" FROM '$subdir' IN 's3://.*' AS OF SYSTEM TIME '$inc_as_of' WITH new_db_name = 'game_restoring', encryption_passphrase = '$passphrase'$" "$W/crdb.sql" ||
  fail "RESTORE as received: $(cat "$W/crdb.sql")"
grep -q '^ALTER DATABASE "game_restoring" RENAME TO "game"$' "$W/crdb.sql" || fail "no rename: $(cat "$W/crdb.sql")"
[ "$(PGPASSWORD=$PW psql -h 127.0.0.1 -p "$DB_PORT" -U root -d game -At -c 'SELECT count(*) FROM "game"."public"."players"')" = 1200 ] ||
  fail "restored count"
# Over the existing database: the old one renamed away and dropped after the swap.
"$BIN" restore latest --components database --no-progress >"$W/r2.json" 2>"$W/r2.err" ||
  fail "restore over: $(cat "$W/r2.json" "$W/r2.err")"
grep -q '^DROP DATABASE "game_replaced" CASCADE$' "$W/crdb.sql" || fail "replaced database not dropped"
pass "restore: RESTORE FROM $subdir with the passphrase into game_restoring, swapped in, 3 tables verified (dropped and existing)"

# 3. A failed job: the backup fails naming CockroachDB's error, the other components are kept.
FAIL_PORT=$(start_standin failing --fail-backup)
DB_PORT=$FAIL_PORT "$BIN" backup full --no-progress >"$W/f1.json" 2>"$W/f1.err" && fail "a failed BACKUP job succeeded"
err=$(db "$W/f1.json" "['error']")
[[ "$err" == *"BACKUP into s3://game-backups/crdb"*"failed to run backup: exporting 3 ranges"*AccessDenied* ]] ||
  fail "failed job error: $err"
[ "$(json "$W/f1.json" "r['components']['player_saves']['success']")" = True ] || fail "player saves not backed up"
pass "failed job: exit non-zero, error '$(echo "$err" | head -c 90)...'"
# An error that repeats the collection URI as it was sent (a hostile case, not a documented text).
QUOTE_PORT=$(start_standin quoting --error-quotes-uri)
DB_PORT=$QUOTE_PORT "$BIN" backup full --no-progress >"$W/f3.json" 2>"$W/f3.err" && fail "the quoting BACKUP succeeded"
err=$(db "$W/f3.json" "['error']")
[[ "$err" == *"failed to run backup: writing to "*AccessDenied* ]] || fail "quoted-URI error: $err"
pass "an error quoting the collection URI: '$err'"

# A restore whose backup the cluster cannot find (an empty collection): fails naming it, and the
# existing database is left as it was (the restore lands under a staging name first).
EMPTY_PORT=$(start_standin empty)
DB_PORT=$EMPTY_PORT "$BIN" restore "$(json "$W/b2.json" "r['backup_id']")" --components database --no-progress >"$W/f4.json" 2>"$W/f4.err" &&
  fail "a restore from a missing backup succeeded"
err=$(db "$W/f4.json" "['error']")
[[ "$err" == *"RESTORE from s3://game-backups/crdb"*"path does not exist: $subdir"* ]] || fail "missing backup error: $err"
grep -q '^ALTER DATABASE\|^DROP DATABASE "game"' "$W/empty.sql" && fail "the existing database was touched: $(cat "$W/empty.sql")"
[ "$(PGPASSWORD=$PW psql -h 127.0.0.1 -p "$EMPTY_PORT" -U root -d game -At -c 'SELECT count(*) FROM "game"."public"."players"')" = 1200 ] ||
  fail "the existing database changed"
pass "restore of a backup the cluster cannot find: '$(echo "$err" | tail -c 80)', existing database untouched"

# 4. A wrong password: one line naming DB_PASSWORD.
DB_PASSWORD=not-the-Pw-4410 "$BIN" backup full --no-progress >"$W/f2.json" 2>"$W/f2.err" && fail "wrong password succeeded"
err=$(db "$W/f2.json" "['error']")
[[ "$err" == *"refused the password of user 'root' (check DB_PASSWORD"* ]] || fail "wrong password error: $err"
grep -q "password authentication failed for user root" <(PGPASSWORD=x psql -h 127.0.0.1 -p "$DB_PORT" -U root -d game -c 'SELECT 1' 2>&1) ||
  fail "the stand-in's 28P01 text"
pass "wrong password: '$err'"

# 5. No secret anywhere we wrote: stdout, stderr, logs, reports, state, snapshot listing.
for s in "$PW" "$AWS_SECRET" "$AWS_SECRET_IN_URI" "$passphrase" not-the-Pw-4410; do
  [ -n "$s" ] || fail "empty secret"
  hits=$(grep -rlF -- "$s" "$W"/*.json "$W"/*.err "$BACKUP_LOG_DIR" "$BACKUP_STATE_DIR" 2>/dev/null | grep -v '/\(crdb\|failing\|quoting\|empty\)\.' || true)
  [ -z "$hits" ] || fail "secret found in: $hits"
done
grep -qF "$AWS_SECRET_IN_URI" "$W/crdb.sql" || fail "the grep cannot fail: the secret was not sent at all"
pass "password, passphrase and AWS secret in no output, log, report or state (they reached the server only)"

"$BIN" check --read-data >"$W/check.json" || fail "check: $(cat "$W/check.json")"
pass "check --read-data"
