#!/usr/bin/env bash
# Key handling: a wrong key and a world-readable key file give clear errors and a non-zero exit;
# keys can be added, rotated and removed without rewriting data; no key material is ever printed.
source "$(dirname "$0")/lib.sh" "$1"
make_data 20
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >"$W/full.json" || fail "backup"
id=$(json "$W/full.json" "r['backup_id']")
secret=$(head -c 64 "$BACKUP_ENCRYPTION_KEY")

"$BIN" key generate "$W/other.key" 2>/dev/null
if BACKUP_ENCRYPTION_KEY=$W/other.key "$BIN" restore "$id" --target "$W/x" >"$W/out" 2>"$W/err"; then fail "wrong key accepted"; fi
grep -q "does not unlock the repository" "$W/err" || fail "wrong key message: $(cat "$W/err")"
[ ! -e "$W/x" ] || fail "restore with a wrong key wrote files"
pass "wrong key: $(head -1 "$W/err")"

cp "$BACKUP_ENCRYPTION_KEY" "$W/loose.key"; chmod 644 "$W/loose.key"
if BACKUP_ENCRYPTION_KEY=$W/loose.key "$BIN" backup full >"$W/out" 2>"$W/err"; then fail "0644 key accepted"; fi
grep -q "chmod 600" "$W/err" || fail "0644 key message: $(cat "$W/err")"
pass "0644 key refused: $(head -1 "$W/err")"

if BACKUP_ENCRYPTION_KEY=$W/missing.key "$BIN" snapshots >/dev/null 2>"$W/err"; then fail "missing key accepted"; fi
grep -q "BACKUP_ENCRYPTION_KEY" "$W/err" || fail "missing key message does not name the variable"

# Rotation: a new key opens the repository, the old one no longer does, data untouched.
packs_before=$(find "$BACKUP_ROOT/data" -type f | sort | xargs sha256sum | sha256sum)
"$BIN" key rotate --new-key-file "$W/new.key" >"$W/rot.json" 2>"$W/err" || fail "rotate: $(cat "$W/err")"
if "$BIN" snapshots >/dev/null 2>&1; then fail "old key still opens the repository after rotation"; fi
BACKUP_ENCRYPTION_KEY=$W/new.key "$BIN" restore "$id" --target "$W/r" --no-progress >/dev/null || fail "restore with the rotated key"
same_tree "$W/src/saves" "$W/r/player_saves/saves" || fail "restore after rotation differs"
[ "$packs_before" = "$(find "$BACKUP_ROOT/data" -type f | sort | xargs sha256sum | sha256sum)" ] || fail "rotation rewrote data"
BACKUP_ENCRYPTION_KEY=$W/new.key "$BIN" key add --new-key-file "$W/third.key" >/dev/null || fail "key add"
[ "$(BACKUP_ENCRYPTION_KEY=$W/third.key "$BIN" key list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ] || fail "key list"
pass "key rotate/add/list work without rewriting data"

# Passphrase keys.
BACKUP_ENCRYPTION_KEY=$W/new.key "$BIN" key list >/dev/null
! grep -rqF "$secret" "$W/log" "$W"/*.json 2>/dev/null || fail "key material found in logs or reports"
pass "no key material in logs or reports"
