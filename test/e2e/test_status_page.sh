#!/usr/bin/env bash
# The exporter's status page (`/`) as a person sees it: headless Chromium (loopback only, no
# background network) renders it; its DOM shows every configured component with the catalog's
# result, every configured location with its state, the recovery targets and the last drill;
# a screenshot is taken. No secret appears on the page.
source "$(dirname "$0")/lib.sh" "$1"
CHROME=$(command -v chromium || true)
[ -n "$CHROME" ] || fail "chromium is not installed (scripts/install-deps.sh)"
mon=""
cleanup() { [ -z "$mon" ] || kill "$mon" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
make_data 20
closed=$(free_port)
# A database that is down (its backup fails) and an S3 location nobody answers (probe: down).
SECRET=status-page-secret-$$
export DB_HOST=127.0.0.1 DB_PORT=$closed DB_NAME=game DB_PASSWORD=$SECRET
export BACKUP_S3_BUCKET=b BACKUP_S3_ENDPOINT=http://127.0.0.1:$closed AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=$SECRET
"$BIN" init >/dev/null 2>&1 || true
"$BIN" backup full --no-progress >"$W/b.json" 2>/dev/null && fail "the backup with the database down succeeded"
[ "$(json "$W/b.json" "r['components']['player_saves']['status']")" = success ] || fail "saves: $(cat "$W/b.json")"
"$BIN" dr-test --scenario status_page >/dev/null 2>&1 || true
PORT=$(free_port)
"$BIN" monitor --listen "127.0.0.1:$PORT" --probe-interval 1 2>"$W/mon.err" &
mon=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 2  # one probe of s3_primary
chrome() {
  timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps --disable-domain-reliability --no-pings \
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" --user-data-dir="$W/chrome" "$@" 2>>"$W/chrome.err"
}
chrome --dump-dom "http://127.0.0.1:$PORT/" >"$W/dom.html" || fail "chromium could not load the page: $(tail -3 "$W/chrome.err")"
chrome --screenshot="$W/status.png" --window-size=1280,1100 "http://127.0.0.1:$PORT/" >/dev/null ||
  fail "chromium screenshot failed: $(tail -3 "$W/chrome.err")"
[ -s "$W/status.png" ] && [ "$(head -c 8 "$W/status.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] ||
  fail "no PNG screenshot"
python3 - "$W/dom.html" "$BACKUP_STATE_DIR/catalog.db" <<'PY' || fail "the rendered page does not match the catalog"
import html.parser, sqlite3, sys
class Cells(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.tables = {}; self.table = None; self.row = None; self.cell = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table": self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self.table is not None: self.row = []; self.table.append(self.row)
        elif tag in ("td", "th") and self.row is not None: self.cell = [a.get("class", ""), ""]; self.row.append(self.cell)
    def handle_endtag(self, tag):
        if tag in ("td", "th"): self.cell = None
    def handle_data(self, d):
        if self.cell is not None: self.cell[1] += d
p = Cells(); p.feed(open(sys.argv[1]).read())
comps = {r[0][1]: r for r in p.tables["components"][1:]}
db = sqlite3.connect(sys.argv[2])
for comp, status in db.execute("SELECT component, status FROM backups WHERE id IN (SELECT MAX(id) FROM backups GROUP BY component)"):
    row = comps.get(comp)
    assert row, f"{comp} missing from the page"
    assert row[3][1] == status, f"{comp}: page says {row[3][1]}, catalog {status}"
    assert row[3][0] == {"success": "ok", "failed": "bad"}.get(status, "none"), f"{comp}: colour {row[3][0]}"
assert comps["database"][3][1] == "failed" and comps["player_saves"][3][1] == "success", comps
locs = {r[0][1]: r for r in p.tables["locations"][1:]}
assert locs["s3_primary"][1][1] == "down", locs
drill = p.tables["drill"][1]
(scenario, status), = db.execute("SELECT scenario, status FROM drills ORDER BY id DESC LIMIT 1")
assert drill[0][1] == scenario and drill[1][1] == status, drill
targets = {r[0][1]: r for r in p.tables["targets"][1:]}
assert targets["recovery point (database)"][3][1] == "missed", targets  # configured, never backed up
assert "recovery time (last restore)" in targets, targets
PY
! grep -q "$SECRET" "$W/dom.html" || fail "a secret is on the status page"
"$BIN" check --read-data >/dev/null 2>"$W/c.err" || fail "check: $(cat "$W/c.err")"
mkdir -p "${STB_ARTIFACTS:-$W}" && cp "$W/status.png" "${STB_ARTIFACTS:-$W}/status-page.png"
pass "status page rendered by Chromium: components (database failed, saves ok), s3_primary down, targets, drill match the catalog; screenshot $(stat -c %s "$W/status.png") bytes"
