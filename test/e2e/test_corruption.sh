#!/usr/bin/env bash
# A flipped byte in a pack, an index or a snapshot is reported by `check --read-data` and by
# `restore`, each naming the damaged object, with a non-zero exit.
source "$(dirname "$0")/lib.sh" "$1"
make_data 50
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >"$W/full.json" || fail "backup"
id=$(json "$W/full.json" "r['backup_id']")
cp -a "$BACKUP_ROOT" "$W/pristine"

flip() {  # flip FILE OFFSET
  python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[off % len(b)] ^= 0x20; open(p, "wb").write(bytes(b))
PY
}
expect_named() {  # expect_named WHAT OBJECT CMD...
  local what=$1 obj=$2; shift 2
  if "$@" >"$W/out" 2>"$W/err"; then fail "$what: exit 0 despite damage to $obj"; fi
  grep -qF "$obj" "$W/out" "$W/err" || fail "$what: output does not name $obj: $(cat "$W/err" "$W/out" | head -c 800)"
}

for kind in data index snapshots; do
  rm -rf "$BACKUP_ROOT" "$W/restore"; cp -a "$W/pristine" "$BACKUP_ROOT"
  # The largest object of the kind (a data pack: the one with the big file) at a data offset.
  obj=$(cd "$BACKUP_ROOT" && find "$kind" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
  flip "$BACKUP_ROOT/$obj" 100
  expect_named "check --read-data ($kind)" "$obj" "$BIN" check --read-data
  expect_named "restore ($kind)" "$obj" "$BIN" restore "$id" --target "$W/restore" --no-progress
  pass "damaged $obj is named by check and restore"
done

# A flip in a pack's header (unused by restore) is still found by check --read-data.
rm -rf "$BACKUP_ROOT"; cp -a "$W/pristine" "$BACKUP_ROOT"
obj=$(cd "$BACKUP_ROOT" && find data -type f | head -1)
flip "$BACKUP_ROOT/$obj" -10
expect_named "check --read-data (pack header)" "$obj" "$BIN" check --read-data
# Structure-only check still passes for a damaged byte inside a pack (it reads no data).
"$BIN" check >/dev/null 2>&1 || fail "check without --read-data should not read pack bytes"
pass "pack header damage found by check --read-data"

# A truncated pack is found even without reading data.
rm -rf "$BACKUP_ROOT"; cp -a "$W/pristine" "$BACKUP_ROOT"
obj=$(cd "$BACKUP_ROOT" && find data -type f | head -1)
truncate -s 1000 "$BACKUP_ROOT/$obj"
expect_named "check (truncated pack)" "$obj" "$BIN" check
pass "truncated pack found by check"
