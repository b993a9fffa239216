#!/usr/bin/env bash
# Restore of many small files in many directories: (1) under strace -c, about one openat per file
# and a handful of renames (new directories are staged and renamed whole; files in them are
# created in place); (2) kill -9 at KILL_POINTS random moments (default 5; KILL_SEED repeats a
# run): afterwards every file under a final name is complete and identical to its source, the only
# other entries are .stb-restore-* leftovers, and the next restore completes the tree exactly.
source "$(dirname "$0")/lib.sh" "$1"
trap 'rm -rf "$W"' EXIT
POINTS=${KILL_POINTS:-5}
SEED=${KILL_SEED:-$$}
RANDOM=$SEED
echo "kill points: $POINTS, seed $SEED"
unset APP_DIR
export CONFIG_DIRS=
python3 - "$W/src/saves" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(17)
for i in range(2000):
    d = f"{root}/d{i % 100:03d}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/save_{i:05d}.json", "w") as f:
        f.write('{"player": %d, "items": [%s]}' % (i, ",".join(str(rng.randrange(10**6)) for _ in range(rng.randrange(20, 400)))))
os.makedirs(f"{root}/big", exist_ok=True)
with open(f"{root}/big/world.bin", "wb") as f:  # several blobs
    f.write(rng.randbytes(6 << 20))
PY
find "$W/src" -exec touch -h -d '2024-01-03 14:25:30' {} +
"$BIN" init >/dev/null
"$BIN" backup full --no-progress >/dev/null 2>&1 || fail "backup"

# 1. System calls per file.
if command -v strace >/dev/null; then
  # LeakSanitizer cannot run under ptrace: the ASan build's leak check is off for this one run.
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -c -o "$W/strace.txt" "$BIN" restore latest --target "$W/s" --no-progress >"$W/s.json" 2>&1 ||
    fail "restore under strace: $(tail -5 "$W/s.json")"
  same_tree "$W/src/saves" "$W/s/player_saves/saves" || fail "restore under strace differs"
  calls() { awk -v c="$1" '$NF == c { print ($4 ~ /^[0-9]+$/) ? $4 : $5 }' "$W/strace.txt" | head -1; }
  openat=$(calls openat)
  renames=$(($(calls renameat || true) + 0 + $(calls renameat2 || true) + 0))
  echo "openat $openat, renameat+renameat2 $renames, openat2 $(calls openat2), dup $(calls dup) for 2001 files"
  [ "${openat:-0}" -le 2600 ] || fail "openat $openat for 2001 files (more than 1.3 per file)"
  [ "$renames" -le 5 ] || fail "$renames renames for 2001 files in new directories (staged: at most 5)"
  pass "restore of 2001 files: $openat openat, $renames renames"
else
  echo "skipped: strace not installed (system call counts)"
fi

# 2. Killed restores.
t0=$(python3 -c "import time; print(time.time())")
"$BIN" restore latest --target "$W/timed" --no-progress >/dev/null 2>&1 || fail "timed restore"
restore_time=$(python3 -c "import time; print(max(0.2, time.time() - $t0))")
rm -rf "$W/timed"
# Every regular file outside a .stb-restore-* entry is complete; nothing else is there.
check_killed() {
  python3 - "$W/src/saves" "$1/player_saves" <<'PY'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
bad = []
for dp, dns, fns in os.walk(dst):
    rel = os.path.relpath(dp, dst)
    parts = [] if rel == "." else rel.split(os.sep)
    if any(p.startswith(".stb-restore-") for p in parts):
        continue
    for name in fns:
        if name.startswith(".stb-restore-"):
            continue
        p = os.path.join(dp, name)
        if not parts or parts[0] != "saves":
            bad.append(f"unexpected {p}")
            continue
        s = os.path.join(src, *parts[1:], name)
        if not os.path.isfile(s) or open(s, "rb").read() != open(p, "rb").read():
            bad.append(f"partial or wrong {p}")
for b in bad[:10]:
    print(b)
sys.exit(1 if bad else 0)
PY
}
partial=0
for ((i = 0; i < POINTS; i++)); do
  at=$(awk -v s="$RANDOM" -v t="$restore_time" 'BEGIN { srand(s); printf "%.3f", rand() * t }')
  T="$W/k$i"
  "$BIN" restore latest --target "$T" --no-progress >"$W/killed.out" 2>&1 &
  pid=$!
  sleep "$at"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -d "$T/player_saves" ] && ! check_killed "$T"; then
    partial=$((partial + 1))
    echo "PARTIAL FILE after killing restore at ${at}s" >&2
  fi
  "$BIN" restore latest --target "$T" --no-progress >"$W/next.out" 2>&1 || fail "restore after a kill at ${at}s: $(tail -5 "$W/next.out")"
  same_tree "$W/src/saves" "$T/player_saves/saves" --ignore '.stb-restore-*' || fail "restore after a kill at ${at}s differs"
  echo "killed at ${at}s: leftovers $(find "$T" -name '.stb-restore-*' -prune | wc -l)"
  rm -rf "$T"
done
[ "$partial" = 0 ] || fail "$partial killed restores left a partial file under its final name"
pass "restore killed at $POINTS random points (within ${restore_time}s): only .stb-restore-* leftovers, retries complete"
"$BIN" check --read-data >/dev/null 2>&1 || fail "check --read-data"
pass "check --read-data"
