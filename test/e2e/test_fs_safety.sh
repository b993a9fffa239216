#!/usr/bin/env bash
# Restore never writes through a symlink planted at a restore root by the account that owns it:
# in place (PLAYER_SAVES_DIR replaced by a symlink) and with --target (DIR/player_saves/<root>
# planted), as root. The restore fails naming the path, and the victim directory is untouched
# (no new files, owner and mode unchanged).
source "$(dirname "$0")/lib.sh" "$1"
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (restore chowns as root)"; exit 0; }
make_data 40
chown -R 4242:4242 "$W/src/saves"  # the game's account owns its saves
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >"$W/full.json" || fail "full backup: $(cat "$W/full.json")"

# victim DIR: a directory the game's account must not touch, with its owner and mode recorded.
victim() {
  mkdir -p "$1"
  echo "keep" >"$1/precious"
  chown 0:0 "$1" && chmod 0751 "$1"
  stat -c '%u:%g %a' "$1" >"$1.before"
  ls -A "$1" >"$1.list"
}
untouched() {
  [ "$(stat -c '%u:%g %a' "$1")" = "$(cat "$1.before")" ] || fail "$2: victim owner/mode changed to $(stat -c '%u:%g %a' "$1")"
  [ "$(ls -A "$1")" = "$(cat "$1.list")" ] || fail "$2: files were written into the victim: $(ls -A "$1")"
  [ "$(cat "$1/precious")" = keep ] || fail "$2: victim file changed"
}

# 1. In place: the saves directory replaced by a symlink to the victim.
victim "$W/victim"
mv "$W/src/saves" "$W/saves-moved"
ln -s "$W/victim" "$W/src/saves"
rc=0
"$BIN" restore latest --components player_saves --no-progress >"$W/r1.json" 2>"$W/r1.err" || rc=$?
[ "$rc" != 0 ] || fail "in-place restore through a root symlink exited 0: $(cat "$W/r1.json")"
err=$(json "$W/r1.json" "r['components']['player_saves']['error']")
case "$err" in *"$W/src/saves"*symlink*) ;; *) fail "in-place error does not name the symlinked root: $err" ;; esac
untouched "$W/victim" "in place"
pass "in-place restore refuses the symlinked root: $err"

# 2. --target DIR with DIR/player_saves/saves planted as a symlink.
victim "$W/victim2"
mkdir -p "$W/t/player_saves"
ln -s "$W/victim2" "$W/t/player_saves/saves"
rc=0
"$BIN" restore latest --components player_saves --target "$W/t" --no-progress >"$W/r2.json" 2>"$W/r2.err" || rc=$?
[ "$rc" != 0 ] || fail "--target restore through a planted symlink exited 0: $(cat "$W/r2.json")"
err=$(json "$W/r2.json" "r['components']['player_saves']['error']")
case "$err" in *"$W/t/player_saves/saves"*symlink*) ;; *) fail "--target error does not name the planted path: $err" ;; esac
untouched "$W/victim2" "--target"
pass "--target restore refuses the planted symlink: $err"

# 3. --target DIR with DIR/player_saves itself planted as a symlink (an element the restore creates).
victim "$W/victim3"
mkdir -p "$W/u"
ln -s "$W/victim3" "$W/u/player_saves"
rc=0
"$BIN" restore latest --components player_saves --target "$W/u" --no-progress >"$W/r3.json" 2>"$W/r3.err" || rc=$?
[ "$rc" != 0 ] || fail "--target restore through a planted component directory exited 0"
untouched "$W/victim3" "--target component"
pass "--target restore refuses a planted DIR/player_saves symlink"

# 4. A plain file where the root should be is an error too, and the file is left alone.
rm "$W/src/saves"
echo "not a dir" >"$W/src/saves"
rc=0
"$BIN" restore latest --components player_saves --no-progress >"$W/r4.json" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "restore over a file at the root exited 0"
[ "$(cat "$W/src/saves")" = "not a dir" ] || fail "the file at the root was changed"
pass "a file at the root is refused"

# The real directory back in place: the in-place restore works and matches the source.
rm "$W/src/saves"
mv "$W/saves-moved" "$W/src/saves"
cp -a "$W/src/saves" "$W/saves-at-backup"
"$BIN" restore latest --components player_saves --no-progress >"$W/r5.json" || fail "in-place restore: $(cat "$W/r5.json")"
same_tree "$W/saves-at-backup" "$W/src/saves" || fail "in-place restore differs"
[ "$(stat -c %u "$W/src/saves")" = 4242 ] || fail "root owner not restored"
"$BIN" check --read-data >"$W/check.json" 2>/dev/null || fail "check: $(cat "$W/check.json")"
pass "ordinary in-place restore still works; check --read-data passes"
