#!/usr/bin/env bash
# forget and prune on a real repository: the dropped backups' own data is freed (and only that),
# check --read-data passes and every kept backup restores identical; prune refuses while a live
# backup holds the lock and clears the lock of a killed one.
source "$(dirname "$0")/lib.sh" "$1"
make_data 60
"$BIN" init >/dev/null
du_repo() { du -sb "$BACKUP_ROOT/data" | cut -f1; }
# Four backups; the first two each hold 6 MiB that no later backup has.
head -c 6291456 /dev/urandom >"$PLAYER_SAVES_DIR/only-in-1.bin"
"$BIN" backup full --no-progress >"$W/b1.json" || fail "backup 1"
rm "$PLAYER_SAVES_DIR/only-in-1.bin"
head -c 6291456 /dev/urandom >"$PLAYER_SAVES_DIR/only-in-2.bin"
"$BIN" backup incremental --no-progress >"$W/b2.json" || fail "backup 2"
rm "$PLAYER_SAVES_DIR/only-in-2.bin"
echo "kept" >"$PLAYER_SAVES_DIR/kept.txt"
"$BIN" backup incremental --no-progress >"$W/b3.json" || fail "backup 3"
cp -a "$W/src" "$W/src3"
echo "four" >>"$PLAYER_SAVES_DIR/kept.txt"
"$BIN" backup full --no-progress >"$W/b4.json" || fail "backup 4"
ids=$("$BIN" snapshots --json | python3 -c "import json,sys; print(' '.join(s['backup_id'] for s in json.load(sys.stdin)))")
read -r id1 id2 id3 id4 <<<"$ids"

# The default policy (the guide's) keeps all four: they are from today.
"$BIN" forget --dry-run >"$W/f0.json" || fail "forget --dry-run"
[ "$(json "$W/f0.json" "len(r['keep'])")" = 4 ] || fail "default policy: $(cat "$W/f0.json")"
[ "$(json "$W/f0.json" "r['policy']['full']")" = "keep 7 daily, 4 weekly, 12 monthly, 3 yearly snapshots" ] ||
  fail "default policy text: $(json "$W/f0.json" "r['policy']")"
pass "default policy keeps today's backups: $(json "$W/f0.json" "r['policy']")"
"$BIN" forget --keep-last 0 2>"$W/err" && fail "forget with a policy that keeps nothing ran"
rc=0; "$BIN" forget --keep-daily x 2>"$W/err" || rc=$?
[ $rc = 2 ] || fail "bad --keep-daily: exit $rc, not a usage error"
grep -q -- "--keep-daily" "$W/err" || fail "bad --keep-daily: $(cat "$W/err")"

# keep-last 2, dry run first: nothing changes.
before=$(du_repo)
"$BIN" forget --keep-last 2 --prune --dry-run >"$W/f1.json" || fail "dry run"
[ "$(du_repo)" = "$before" ] || fail "dry run changed the repository"
[ "$(json "$W/f1.json" "sorted(s['backup_id'] for s in r['remove'])")" = "['$id1', '$id2']" ] ||
  fail "dry run would remove: $(json "$W/f1.json" "r['remove']")"
[ "$(json "$W/f1.json" "r['keep'][0]['reasons']")" = "['last snapshot']" ] || fail "reasons: $(cat "$W/f1.json")"
"$BIN" forget --keep-last 2 --prune >"$W/f2.json" || fail "forget --prune: $(cat "$W/f2.json")"
after=$(du_repo)
freed=$((before - after))
# The two 6 MiB files (random, incompressible) and little else.
[ "$freed" -ge $((12 * 1048576 * 95 / 100)) ] && [ "$freed" -le $((12 * 1048576 + 1048576)) ] ||
  fail "prune freed $freed bytes, expected about 12 MiB: $(json "$W/f2.json" "r['prune']")"
pass "forget --keep-last 2 --prune removed $id1 $id2 and freed $freed bytes ($(json "$W/f2.json" "r['prune']['packs_deleted']") packs deleted, $(json "$W/f2.json" "r['prune']['packs_repacked']") repacked)"
[ "$("$BIN" snapshots --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = 2 ] || fail "snapshots left"
"$BIN" check --read-data >"$W/c.json" 2>"$W/c.err" || fail "check --read-data after prune: $(cat "$W/c.err")"
grep -q warning "$W/c.err" && fail "check warns after prune: $(cat "$W/c.err")"
for id in $id3 $id4; do
  "$BIN" restore "$id" --target "$W/r-$id" --no-progress >"$W/r.json" || fail "restore $id after prune"
done
same_tree "$W/src3/saves" "$W/r-$id3/player_saves/saves" || fail "backup 3 restored differently after prune"
same_tree "$W/src/saves" "$W/r-$id4/player_saves/saves" || fail "backup 4 restored differently after prune"
pass "check --read-data clean; both kept backups restore identical"
"$BIN" prune >"$W/p.json" || fail "second prune"
[ "$(json "$W/p.json" "r['packs_deleted'] + r['packs_repacked']")" = 0 ] || fail "second prune still found work: $(cat "$W/p.json")"

# A live backup holds the lock: prune refuses, naming it. Once that backup is killed, its lock
# is stale (dead process): prune clears it and removes the packs it left.
head -c 104857600 /dev/urandom >"$PLAYER_SAVES_DIR/big.bin"
"$BIN" backup full --no-progress >/dev/null 2>&1 &
bpid=$!
packs() { find "$BACKUP_ROOT/data" -type f | wc -l; }
n0=$(packs)
for _ in $(seq 1 500); do [ "$(packs)" -gt "$n0" ] && break; sleep 0.02; done  # it has written a pack
kill -STOP $bpid
"$BIN" prune >"$W/p1.json" 2>"$W/p1.err" && fail "prune ran while a backup held the repository"
grep -q "prune refuses to run: .*in use: a lock held by pid $bpid" "$W/p1.err" || fail "prune's refusal: $(cat "$W/p1.err")"
pass "prune refuses while backup $bpid holds the repository: $(cat "$W/p1.err")"
kill -9 $bpid; kill -CONT $bpid 2>/dev/null || true; wait $bpid 2>/dev/null || true
"$BIN" prune >"$W/p2.json" 2>"$W/p2.err" || fail "prune after the holder died: $(cat "$W/p2.err")"
[ -z "$(ls "$BACKUP_ROOT/locks")" ] || fail "locks left: $(ls "$BACKUP_ROOT/locks")"
"$BIN" check --read-data >/dev/null 2>"$W/c.err" || fail "check after the stale-lock prune: $(cat "$W/c.err")"
grep -q warning "$W/c.err" && fail "check warns after prune: $(cat "$W/c.err")"
[ "$(json "$W/p2.json" "r['packs_unindexed']")" -ge 1 ] || fail "the killed backup's packs were not found: $(cat "$W/p2.json")"
pass "stale lock of the killed backup cleared; $(json "$W/p2.json" "r['packs_unindexed']") unindexed packs it left removed"
