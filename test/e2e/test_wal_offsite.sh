#!/usr/bin/env bash
# wal-push to a cloud location (Azurite): WAL_PUSH_OFFSITE makes it required before exit 0; the
# other locations are best effort through the outbox, drained by the next push; replicate copies
# wal/; wal-fetch from the cloud location, and 255 when it cannot be reached.
source "$(dirname "$0")/lib.sh" "$1"
source "$HERE/../services/lib.sh"
hook_pid=
trap '[ -n "$hook_pid" ] && kill $hook_pid 2>/dev/null; service_stop_all; rm -rf "$W"' EXIT
service_start azure "$W/svc"
"$BIN" init >/dev/null 2>&1 || fail "init"

# Synthetic PG15 segments of 1 MiB (the smallest size PostgreSQL allows) and a pg_control.
mkdir -p "$W/pg/pg_wal" "$W/pg/global"
python3 - "$W/pg" <<'PY'
import os, struct, sys
root, seg, sysid = sys.argv[1], 1 << 20, 7310931155431581234
open(f"{root}/global/pg_control", "wb").write(struct.pack("<Q", sysid) + bytes(8184))
for i in range(1, 7):
    page = struct.pack("<HHIQI4xQII", 0xD110, 2, 1, i * seg, 0, sysid, seg, 8192)
    body = os.urandom(seg // 4) + bytes(seg - seg // 4 - len(page))
    open(f"{root}/pg_wal/%08X%08X%08X" % (1, 0, i), "wb").write(page + body)
PY
push() { (cd "$W/pg" && "$BIN" wal-push "pg_wal/$1"); }
fetch() { "$BIN" wal-fetch --pgdata "$W/pg" "$@"; }
S=00000001000000000000000

WAL_PUSH_OFFSITE=azure push ${S}1 || fail "wal-push with WAL_PUSH_OFFSITE=azure"
push ${S}2 || fail "wal-push (azure best effort)"
for i in 1 2; do
  fetch --location azure ${S}$i "$W/f$i" && cmp -s "$W/f$i" "$W/pg/pg_wal/${S}$i" || fail "segment $i not in azure"
done
# A timeline history file (its cluster comes from pg_control) and a backup history file.
printf '1\t0/3000158\tno recovery target specified\n' >"$W/pg/pg_wal/00000002.history"
printf 'START WAL LOCATION: 0/2000028 (file %s)\n' ${S}2 >"$W/pg/pg_wal/${S}2.00000028.backup"
for f in 00000002.history ${S}2.00000028.backup; do
  push $f || fail "wal-push $f"
  fetch --location azure $f "$W/h" && cmp -s "$W/h" "$W/pg/pg_wal/$f" || fail "$f did not come back"
done
printf '3\t0/3000158\tbad: its own timeline\n' >"$W/pg/pg_wal/00000003.history"
rc=0; push 00000003.history 2>"$W/err" || rc=$?
[ "$rc" = 1 ] && grep -q "not below its own" "$W/err" || fail "a history file listing its own timeline was stored: $(cat "$W/err")"
rm "$W/pg/pg_wal/00000003.history"
pass "wal-push stores in local and azure; wal-fetch --location azure returns the same bytes (segments, history files)"

# Azure unreachable: a required push fails (PostgreSQL keeps the segment), a best-effort one
# succeeds with a warning and an outbox entry; wal-fetch from azure cannot tell (255).
good=$AZURE_STORAGE_CONNECTION_STRING
export AZURE_STORAGE_CONNECTION_STRING=${good/127.0.0.1:*\//127.0.0.1:$(free_port)\/}
rc=0; WAL_PUSH_OFFSITE=azure push ${S}3 2>"$W/err" || rc=$?
[ "$rc" = 1 ] || fail "a required push to an unreachable azure exited $rc, not 1"
fetch ${S}3 "$W/f3" || fail "segment 3 should still be stored locally first"
rc=0; WAL_PUSH_OFFSITE_TIMEOUT=1 push ${S}4 2>"$W/err" || rc=$?
[ "$rc" = 0 ] || fail "a best-effort push exited $rc: $(cat "$W/err")"
grep -q "outbox" "$W/err" || fail "no outbox warning: $(cat "$W/err")"
ls "$BACKUP_STATE_DIR/wal-outbox/azure/" | grep -q "${S}4" || fail "no outbox entry for segment 4"
rc=0; WAL_FETCH_RETRY_SECONDS=1 fetch --location azure ${S}1 "$W/x" 2>/dev/null || rc=$?
[ "$rc" = 255 ] || fail "wal-fetch from an unreachable azure exited $rc, not 255"
pass "azure down: required push exits 1, best effort exits 0 with an outbox entry, wal-fetch exits 255"

# Azure back: the next push drains the outbox; replicate copies what is still missing (3).
export AZURE_STORAGE_CONNECTION_STRING=$good
push ${S}5 || fail "wal-push after azure came back"
[ -z "$(ls "$BACKUP_STATE_DIR/wal-outbox/azure/")" ] || fail "outbox not drained: $(ls "$BACKUP_STATE_DIR/wal-outbox/azure/")"
fetch --location azure ${S}4 "$W/f4" && cmp -s "$W/f4" "$W/pg/pg_wal/${S}4" || fail "segment 4 did not reach azure"
rc=0; "$BIN" check azure >/dev/null 2>"$W/err" || rc=$?
[ "$rc" = 1 ] && grep -q "wal: ${S}3 missing" "$W/err" || fail "check azure did not name segment 3: $(cat "$W/err")"
"$BIN" replicate --to azure >/dev/null 2>&1 || fail "replicate"
fetch --location azure ${S}3 "$W/f3" && cmp -s "$W/f3" "$W/pg/pg_wal/${S}3" || fail "replicate did not copy wal/"
"$BIN" check --read-data azure >/dev/null 2>"$W/err" || fail "check --read-data azure: $(cat "$W/err")"
pass "the outbox is drained by the next push, replicate copies wal/, check azure passes"

# The same name with other content: exit 1, nothing overwritten, a wal_conflict alert.
mkdir -p "$W/hook"
python3 "$HERE/webhook_server.py" ok "$W/hook" >"$W/hook.port" &
hook_pid=$!
for _ in $(seq 1 100); do [ -s "$W/hook.port" ] && break; sleep 0.05; done
cp "$W/pg/pg_wal/${S}5" "$W/orig5"
printf 'X' | dd of="$W/pg/pg_wal/${S}5" bs=1 seek=900000 conv=notrunc 2>/dev/null
rc=0; BACKUP_ALERT_WEBHOOK="http://127.0.0.1:$(head -1 "$W/hook.port")/hook" push ${S}5 2>"$W/err" || rc=$?
[ "$rc" = 1 ] && grep -q "different content" "$W/err" || fail "a conflicting push exited $rc: $(cat "$W/err")"
grep -q '"wal_conflict"' "$W/hook/1.json" 2>/dev/null || fail "no wal_conflict alert"
fetch ${S}5 "$W/f5" && cmp -s "$W/f5" "$W/orig5" || fail "the stored segment changed"
pass "a conflicting push exits 1, alerts wal_conflict and overwrites nothing"

"$BIN" check --read-data >"$W/check.json" 2>"$W/err" || fail "check --read-data: $(cat "$W/err")"
[ "$(json "$W/check.json" "r['wal']['segments']")" = 5 ] || fail "local should hold 5 segments"
pass "check --read-data passes"
