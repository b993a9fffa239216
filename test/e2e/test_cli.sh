#!/usr/bin/env bash
# The command line: help, version, usage errors, and clear failures for bad settings.
source "$(dirname "$0")/lib.sh" "$1"
"$BIN" --version | grep -q "spacetime-backup" || fail "--version"
for c in "" "backup" "backup full" "backup incremental" "restore" "snapshots" "check" "key" "init"; do
  # shellcheck disable=SC2086
  "$BIN" $c --help >"$W/help" 2>&1 || fail "$c --help exits non-zero"
  grep -qi "usage" "$W/help" || fail "$c --help prints no usage"
done
"$BIN" --help >"$W/help" 2>&1
grep -q BACKUP_ENCRYPTION_KEY "$W/help" || fail "--help does not list the environment"  # not a pipe: grep -q would close it early
set +e
"$BIN" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command should exit 2"
"$BIN" restore >/dev/null 2>&1; [ $? -eq 2 ] || fail "restore without id should exit 2"
"$BIN" check --read-data=150 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --read-data should exit 2"
set -e
if "$BIN" snapshots >/dev/null 2>"$W/err"; then fail "snapshots without a repository"; fi
grep -q "init" "$W/err" || fail "missing repository message does not say to run init: $(cat "$W/err")"
"$BIN" init >/dev/null
if "$BIN" init >/dev/null 2>"$W/err"; then fail "second init succeeded"; fi
grep -q "already" "$W/err" || fail "second init message"
# Nothing configured: a clear failure, not an empty success.
if PLAYER_SAVES_DIR= CONFIG_DIRS= APP_DIR= "$BIN" backup full --no-progress >"$W/none.json" 2>/dev/null; then fail "backup with nothing configured succeeded"; fi
grep -q "PLAYER_SAVES_DIR" "$W/none.json" || fail "nothing-configured report does not say what to set"
# A configured but missing source fails that component only, naming the variable.
make_data 10
if CONFIG_DIRS=$W/does-not-exist "$BIN" backup full --no-progress >"$W/miss.json" 2>/dev/null; then fail "missing source succeeded"; fi
[ "$(json "$W/miss.json" "r['components']['player_saves']['success']")" = True ] || fail "other components should still be backed up"
json "$W/miss.json" "r['components']['configuration']['error']" | grep -q CONFIG_DIRS || fail "error does not name CONFIG_DIRS"
"$BIN" check >/dev/null 2>"$W/err" || fail "check after a backup with a missing source: $(cat "$W/err")"
"$BIN" restore latest --target "$W/r-miss" --no-progress >/dev/null || fail "restore of a backup with a missing source"
if "$BIN" restore 19990101_000000 --target "$W/r" >/dev/null 2>"$W/err"; then fail "restore of a missing backup"; fi
grep -q "no backup 19990101_000000" "$W/err" || fail "missing backup message"
if "$BIN" restore latest --components nope >/dev/null 2>"$W/err"; then fail "unknown component accepted"; fi
if "$BIN" backup incremental not-an-id >/dev/null 2>"$W/err"; then fail "bad parent accepted"; fi
grep -q "PARENT" "$W/err" || fail "bad parent message"
# Config file (TOML) and precedence: environment overrides the file.
cat >"$W/backup.toml" <<TOML
[repository]
root = "$W/repo"
compression = 3
[player_saves]
dir = "$W/src/saves"
[application]
dir = "$W/src/app"
TOML
env -u PLAYER_SAVES_DIR -u CONFIG_DIRS -u APP_DIR -u BACKUP_ROOT "$BIN" --config "$W/backup.toml" backup full --no-progress >"$W/toml.json" \
  || fail "backup from config file: $(cat "$W/toml.json")"
[ "$(json "$W/toml.json" "r['components']['configuration']['status']")" = skipped ] || fail "config file: configuration should be skipped"
[ "$(json "$W/toml.json" "r['components']['player_saves']['status']")" = success ] || fail "config file: player_saves"
if REDIS_TLS=ture "$BIN" snapshots >/dev/null 2>"$W/err"; then fail "REDIS_TLS=ture accepted"; fi
grep -q "REDIS_TLS must be yes or no" "$W/err" || fail "a bad boolean does not name REDIS_TLS: $(cat "$W/err")"
if "$BIN" --config "$W/nope.toml" snapshots >/dev/null 2>"$W/err"; then fail "missing config file accepted"; fi
echo "[repository" >"$W/bad.toml"
if "$BIN" --config "$W/bad.toml" snapshots >/dev/null 2>"$W/err"; then fail "malformed config accepted"; fi
grep -q "bad.toml" "$W/err" || fail "malformed config message does not name the file"
"$BIN" snapshots | grep "backup(s)" >/dev/null || fail "snapshots table"
"$BIN" list --json | python3 -c "import json,sys; assert len(json.load(sys.stdin)) == 2" || fail "list --json"
[ -s "$W/log/backup.log" ] || fail "no backup.log in BACKUP_LOG_DIR"
pass "command line behaves"
