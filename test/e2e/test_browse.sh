#!/usr/bin/env bash
# Looking into backups without restoring them: ls (text and --json), find across backups, dump
# (byte-identical to the source), diff of two backups, export as tar.gz and tar.zst (GNU tar
# unpacks them to the source tree), and restore --include/--exclude (scenario 3: one player's
# save back in place, every other file's content and mtime untouched).
source "$(dirname "$0")/lib.sh" "$1"
make_data 60
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >"$W/b1.json" || fail "backup: $(cat "$W/b1.json")"
id1=$(json "$W/b1.json" "r['backup_id']")
cp -a "$W/src" "$W/at1"

# ls
"$BIN" ls "$id1" player_saves/saves/00 >"$W/ls.txt" || fail "ls"
grep -q " player_saves/saves/00/player_0.json$" "$W/ls.txt" || fail "ls: $(head -3 "$W/ls.txt")"
[ "$(wc -l <"$W/ls.txt")" = "$(find "$PLAYER_SAVES_DIR/00" | wc -l)" ] || fail "ls lists $(wc -l <"$W/ls.txt") entries"
"$BIN" ls "$id1" player_saves --json >"$W/ls.json" || fail "ls --json"
python3 - "$W/ls.json" "$PLAYER_SAVES_DIR" <<'PY' || fail "ls --json differs from the source"
import json, os, sys
entries = {e["path"]: e for e in json.load(open(sys.argv[1]))}
src = sys.argv[2]
for dirpath, dirs, files in os.walk(src):
    for name in dirs + files:
        p = os.path.join(dirpath, name)
        rel = "player_saves/saves/" + os.path.relpath(p, src)
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            continue  # JSON holds UTF-8 only: such names are printed with U+FFFD (the text form keeps the bytes)
        st = os.lstat(p)
        e = entries.get(rel)
        assert e, "missing " + rel
        if e["type"] == "file":
            assert e["size"] == st.st_size, rel
        assert int(e["mode"], 8) == st.st_mode & 0o7777, rel
assert entries["player_saves/saves/map-link"]["target"] == "world/map.bin"
PY
pass "ls: text and --json list the saves as they are ($(wc -l <"$W/ls.txt") entries under saves/00)"
if "$BIN" ls "$id1" player_saves/saves/no-such >/dev/null 2>"$W/e"; then fail "ls of a missing path succeeded"; fi
grep -q "has nothing at" "$W/e" || fail "ls missing path: $(cat "$W/e")"

# dump
"$BIN" dump "$id1" player_saves/saves/world/map.bin >"$W/map.bin" || fail "dump"
cmp "$W/map.bin" "$PLAYER_SAVES_DIR/world/map.bin" || fail "dump is not byte-identical"
if "$BIN" dump "$id1" player_saves/saves/world >/dev/null 2>"$W/e"; then fail "dump of a directory succeeded"; fi
grep -q "is a directory" "$W/e" || fail "dump dir: $(cat "$W/e")"
pass "dump: byte-identical; a directory is refused"

# changes, second backup, find and diff
echo '{"player": 7, "changed": true}' >"$PLAYER_SAVES_DIR/07/player_7.json"
rm "$PLAYER_SAVES_DIR/08/player_8.json"
echo new >"$PLAYER_SAVES_DIR/new_player.json"
"$BIN" backup incremental --no-progress >"$W/b2.json" || fail "backup 2"
id2=$(json "$W/b2.json" "r['backup_id']")
"$BIN" find 'player_7.json' --json >"$W/find.json" || fail "find"
[ "$(json "$W/find.json" "sorted(e['backup_id'] for e in r)")" = "['$id1', '$id2']" ] || fail "find: $(cat "$W/find.json")"
"$BIN" find 'player_saves/saves/0?/player_8.json' >"$W/find.txt" || fail "find path glob"
[ "$(wc -l <"$W/find.txt")" = 1 ] && grep -q "^$id1 " "$W/find.txt" || fail "find path glob: $(cat "$W/find.txt")"
"$BIN" diff "$id1" "$id2" >"$W/diff.txt" || fail "diff"
grep -qx "M player_saves/saves/07/player_7.json" "$W/diff.txt" || fail "diff: $(cat "$W/diff.txt")"
grep -qx -- "- player_saves/saves/08/player_8.json" "$W/diff.txt" || fail "diff removed: $(cat "$W/diff.txt")"
grep -qx "+ player_saves/saves/new_player.json" "$W/diff.txt" || fail "diff added: $(cat "$W/diff.txt")"
"$BIN" diff "$id1" "$id2" --json >"$W/diff.json" || fail "diff --json"
[ "$(json "$W/diff.json" "r['added']")" = "['player_saves/saves/new_player.json']" ] || fail "diff --json: $(cat "$W/diff.json")"
pass "find across backups, diff (+ - M): $(grep -c . "$W/diff.txt") changes"

# export
for fmt in tar.gz tar.zst; do
  "$BIN" export "$id1" player_saves --format "$fmt" >"$W/saves.$fmt" || fail "export $fmt"
  mkdir -p "$W/unpacked-$fmt"
  tar -xf "$W/saves.$fmt" -C "$W/unpacked-$fmt" || fail "GNU tar cannot unpack the $fmt export"
  same_tree "$W/at1/saves" "$W/unpacked-$fmt/saves" || fail "the $fmt export differs from the source"
done
"$BIN" export "$id1" player_saves/saves/00 --output "$W/00.tar.gz" || fail "export --output"
[ "$(tar -tzf "$W/00.tar.gz" | grep -c 'player_.*json')" = "$(find "$W/at1/saves/00" -name '*.json' | wc -l)" ] ||
  fail "export of a folder: $(tar -tzf "$W/00.tar.gz" | head -3)"
[ ! -e "$W/00.tar.gz.partial" ] || fail "export left its partial file"
pass "export tar.gz and tar.zst unpack with GNU tar to the source tree; a folder exports alone"

# Scenario 3: one player's save corrupted; only it comes back.
echo corrupted >"$PLAYER_SAVES_DIR/03/player_3.json"
echo "also changed since" >>"$PLAYER_SAVES_DIR/04/player_4.json"
touch -d '2030-01-01' "$PLAYER_SAVES_DIR/05/player_5.json"
python3 - "$PLAYER_SAVES_DIR" >"$W/before.txt" <<'PY'
import os, sys, hashlib
sys.stdout.reconfigure(errors="surrogateescape")
for dp, ds, fs in os.walk(sys.argv[1]):
    for f in sorted(fs):
        p = os.path.join(dp, f)
        if os.path.islink(p): continue
        st = os.lstat(p)
        print(os.path.relpath(p, sys.argv[1]), st.st_mtime_ns, hashlib.sha256(open(p, "rb").read()).hexdigest(), sep="\t")
PY
"$BIN" restore "$id2" --components player_saves --include player_saves/saves/03/player_3.json --no-progress >"$W/r.json" ||
  fail "restore --include: $(cat "$W/r.json")"
cmp "$PLAYER_SAVES_DIR/03/player_3.json" "$W/at1/saves/03/player_3.json" || fail "player_3 not restored"
python3 - "$PLAYER_SAVES_DIR" "$W/before.txt" <<'PY' || fail "restore --include touched other files"
import os, sys, hashlib
before = {l.split("\t")[0]: l.rstrip("\n").split("\t")[1:] for l in open(sys.argv[2], errors="surrogateescape")}
for rel, (mtime, digest) in before.items():
    if rel == "03/player_3.json": continue
    p = os.path.join(sys.argv[1], rel)
    st = os.lstat(p)
    assert str(st.st_mtime_ns) == mtime and hashlib.sha256(open(p, "rb").read()).hexdigest() == digest, rel
PY
"$BIN" restore "$id2" --components player_saves --exclude 'player_4.json' --exclude 'player_saves/saves/05' \
  --target "$W/excl" --no-progress >"$W/r2.json" || fail "restore --exclude"
[ ! -e "$W/excl/player_saves/saves/04/player_4.json" ] && [ ! -e "$W/excl/player_saves/saves/05" ] &&
  [ -e "$W/excl/player_saves/saves/06/player_6.json" ] || fail "restore --exclude: wrong selection"
"$BIN" check --read-data >/dev/null 2>"$W/c.err" || fail "check: $(cat "$W/c.err")"
pass "restore --include brought back one save (others' content and mtime unchanged); --exclude left out a file and a folder"
