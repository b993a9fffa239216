# Shared by the component benchmarks: one markdown table row per step, timed by /usr/bin/time.
# Needs W (a work directory). measure LABEL CMD... leaves the command's stdout in $W/out. Needs ROOT.
row() { printf '| %-40s | %8s | %8s | %8s | %9s |\n' "$@"; }
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$W/t" "$@" >"$W/out" 2>"$W/err" || { echo "$label failed: $(tail -3 "$W/err")" >&2; exit 1; }
  read -r wall user sys rss <"$W/t"
  row "$label" "$wall" "$user" "$sys" "$((rss / 1024))"
}
# BIN: the binary under test; unset, the dependencies are installed and a release build made.
bench_binary() {
  if [ -z "${BIN:-}" ]; then
    "$ROOT/scripts/install-deps.sh"
    "$ROOT/scripts/build.sh" release spacetime-backup >/dev/null
    BIN=$ROOT/build/spacetime-backup
  fi
  BIN=$(realpath "$BIN")
}
