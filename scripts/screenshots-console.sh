#!/usr/bin/env bash
# Regenerates screenshots/console-*.png from real runs of the console against
# the local sandbox: seeds a fresh database with a few real stores (the CLI
# provisions them into the sandbox cluster), runs the console in tmux at
# 120x40, drives it with keys, captures each view with its colours
# (`tmux capture-pane -e`) and renders the cells to PNG with Pillow and
# DejaVu Sans Mono. Cleans up (stores deleted, database dropped) on exit.
#
# Needs: scripts/sandbox up, tmux, python3 with Pillow (pip install pillow),
# fonts-dejavu-core. Usage: scripts/screenshots-console.sh [--keep-text]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ENV_FILE=${STORE_WEAVER_SANDBOX_ENV:-$HOME/.local/state/store-weaver/sandbox/env}
[[ -f $ENV_FILE ]] || { echo "no sandbox env at $ENV_FILE: run scripts/sandbox up" >&2; exit 1; }
# shellcheck disable=SC1090
source "$ENV_FILE"
command -v tmux >/dev/null || { echo "tmux is missing: apt-get install -y tmux" >&2; exit 1; }
python3 -c 'import PIL' 2>/dev/null || { echo "Pillow is missing: pip install pillow" >&2; exit 1; }
FONT=${FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf}
[[ -f $FONT ]] || { echo "font $FONT is missing: apt-get install -y fonts-dejavu-core" >&2; exit 1; }

KEEP_TEXT=${1:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --quiet --bin store-weaver
BIN=$CARGO_TARGET_DIR/debug/store-weaver
CHARTS=$ROOT/tests/fixtures/charts
[[ -f $CHARTS/woocommerce/Chart.yaml ]] || CHARTS=$ROOT/charts
BROKEN=$ROOT/tests/fixtures/charts-broken

RUN=$(mktemp -d)
DB=sw_shots_$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
URL="${DATABASE_URL%/*}/$DB"
SOCK=sw-shots-$$
OUT=$ROOT/screenshots
mkdir -p "$OUT"

tm() { tmux -L "$SOCK" -f /dev/null "$@"; }
sw() { "$BIN" --database-url "$URL" --charts-dir "$CHARTS" --values-file "$CHARTS/woocommerce/values.yaml" "$@"; }

cleanup() {
  tm kill-server 2>/dev/null || true
  for s in "Acme Shoes" "Bolt Bikes" "Cora Cafe" "Dune Books" "Echo Audio"; do
    sw store delete "$s" --wait >/dev/null 2>&1 || true
  done
  psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  [[ -n $KEEP_TEXT ]] && echo "captures kept in $RUN" || rm -rf "$RUN"
}
trap cleanup EXIT

psql "$DATABASE_URL" -qc "CREATE DATABASE $DB"
sw migrate >/dev/null
export STORE_WEAVER_LOG=warn

echo "seeding stores (real provisioning in the sandbox)..."
sw store create "Acme Shoes" --owner ann@example.com --wait >/dev/null
sw store create "Bolt Bikes" --owner bob@example.com --wait >/dev/null
# A Medusa store, with its own chart (simulated by kwok like the others here).
"$BIN" --database-url "$URL" --charts-dir "$ROOT/charts" --values-file "medusa=$ROOT/charts/medusa/values-local.yaml" \
  store create "Echo Audio" --owner eve@example.com --engine medusa --wait >/dev/null
"$BIN" --database-url "$URL" --charts-dir "$BROKEN" --values-file "$BROKEN/woocommerce/values.yaml" \
  store create "Cora Cafe" --owner ann@example.com --wait >/dev/null 2>&1 || true

# start CMD W H: a console in a fresh session.
N=0
start() {
  tm kill-server 2>/dev/null || true
  N=$((N + 1))
  SOCK=sw-shots-$$-$N
  tm new-session -d -s c -x "$2" -y "$3" \
    "env TERM=xterm-256color COLORTERM= USER=operator STORE_WEAVER_LOG_DIR=$RUN/logs $1; sleep 600"
}
wait_for() { # wait_for TEXT [seconds]
  local deadline=$((SECONDS + ${2:-30}))
  until tm capture-pane -p -t c | grep -qF -- "$1"; do
    if ((SECONDS > deadline)); then
      echo "timed out waiting for: $1" >&2
      tm capture-pane -p -t c >&2
      exit 1
    fi
    sleep 0.2
  done
}
keys() { for k in "$@"; do tm send-keys -t c "$k"; sleep 0.25; done; }
text() { tm send-keys -t c -l "$1"; sleep 0.3; }
shot() { # shot NAME: capture with colours, render to PNG
  sleep 0.4
  tm capture-pane -e -p -N -t c >"$RUN/$1.ans"
  python3 - "$RUN/$1.ans" "$OUT/console-$1.png" "$FONT" <<'PY'
import re, sys
from PIL import Image, ImageDraw, ImageFont

src, dst, font_path = sys.argv[1:4]
size = 16
font = ImageFont.truetype(font_path, size)
bold = ImageFont.truetype(font_path.replace("SansMono.ttf", "SansMono-Bold.ttf"), size)
fallback = ImageFont.truetype(font_path.replace("SansMono.ttf", "Sans.ttf"), size)
notdef = font.getmask("\uffff").getbbox()

def has_glyph(f, ch):
    return ch == " " or f.getmask(ch).getbbox() != notdef

# xterm's default palette, slightly softened.
BASE = [(0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16), (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
        (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67), (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255)]
def c256(n):
    if n < 16:
        return BASE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)

FG, BG = (204, 204, 204), (24, 24, 28)
text = open(src, encoding="utf-8").read().rstrip("\n").split("\n")
cols = 120
rows = []
# tmux only emits changes: attributes carry over from one line to the next.
fg, bg, b, rev, ul = None, None, False, False, False
for line in text:
    cells = []
    for m in re.finditer(r"\x1b\[([0-9;]*)m|([^\x1b])", line):
        if m.group(2) is not None:
            cells.append((m.group(2), fg, bg, b, rev, ul))
            continue
        ps = [int(p) if p else 0 for p in m.group(1).split(";")]
        i = 0
        while i < len(ps):
            p = ps[i]
            if p == 0: fg, bg, b, rev, ul = None, None, False, False, False
            elif p == 1: b = True
            elif p == 4: ul = True
            elif p == 7: rev = True
            elif p == 22: b = False
            elif p == 24: ul = False
            elif p == 27: rev = False
            elif 30 <= p <= 37: fg = BASE[p - 30]
            elif p == 39: fg = None
            elif 40 <= p <= 47: bg = BASE[p - 40]
            elif p == 49: bg = None
            elif 90 <= p <= 97: fg = BASE[p - 90 + 8]
            elif 100 <= p <= 107: bg = BASE[p - 100 + 8]
            elif p in (38, 48) and i + 1 < len(ps):
                if ps[i + 1] == 5 and i + 2 < len(ps):
                    col = c256(ps[i + 2]); i += 2
                elif ps[i + 1] == 2 and i + 4 < len(ps):
                    col = tuple(ps[i + 2:i + 5]); i += 4
                else:
                    col = None
                if p == 38: fg = col
                else: bg = col
            i += 1
    rows.append(cells)
    cols = max(cols, len(cells))

cw = int(font.getlength("M") + 0.5)
ch = int(size * 1.25)
pad = 12
img = Image.new("RGB", (cols * cw + 2 * pad, len(rows) * ch + 2 * pad), BG)
d = ImageDraw.Draw(img)
for y, cells in enumerate(rows):
    for x, (c, fg, bg, b, rev, ul) in enumerate(cells):
        f, k = fg or FG, bg or BG
        if rev:
            f, k = k, f
        px, py = pad + x * cw, pad + y * ch
        if k != BG:
            d.rectangle([px, py, px + cw - 1, py + ch - 1], fill=k)
        if c in "─│┌┐└┘├┤┬┴┼":
            # Box drawing by hand: joins across cells without gaps.
            mx, my = px + cw // 2, py + ch // 2
            if c in "─┌┐└┘├┤┬┴┼":
                x0 = px if c in "─┐┘┤┬┴┼" else mx
                x1 = px + cw if c in "─┌└├┬┴┼" else mx
                d.line([(x0, my), (x1, my)], fill=f)
            if c in "│┌┐└┘├┤┬┴┼":
                y0 = py if c in "│└┘├┤┴┼" else my
                y1 = py + ch if c in "│┌┐├┤┬┼" else my
                d.line([(mx, y0), (mx, y1)], fill=f)
        elif c != " ":
            face = bold if b else font
            if not has_glyph(face, c):
                face = fallback
            d.text((px, py + 1), c, font=face, fill=f)
        if ul:
            d.line([(px, py + ch - 2), (px + cw - 1, py + ch - 2)], fill=f)
img.save(dst)
PY
  echo "  screenshots/console-$1.png"
}

echo "capturing..."
start "$BIN --database-url $URL --charts-dir $CHARTS --values-file $CHARTS/woocommerce/values.yaml --workers 2" 120 40
wait_for "Cora Cafe"
wait_for "watch ● connected"
# A fourth store created from the console itself, seen while it provisions.
keys c
text "Dune Books"
keys Tab C-u
text "dan@example.com"
keys Tab Enter
wait_for "Dune Books"
wait_for "● Ready 4" 90
keys G
shot stores

keys g
keys /
text "ann"
shot filter
keys Escape

# Detail of a ready store: resources, live events, timeline.
keys /
text "acme"
keys Enter Enter
wait_for "live, newest first"
wait_for "Scheduled"
shot detail
keys Escape Escape

# A Medusa store's detail: its engine, its own workloads.
keys /
text "echo"
keys Enter Enter
wait_for "live, newest first"
shot detail-medusa
keys Escape Escape

# The failed store: its error in full.
keys /
text "cora"
keys Enter Enter
wait_for "error:"
shot failed
keys x
shot error
keys Escape Escape Escape

# The create form, refusing bad input as you type.
keys c
text "!"
keys Tab C-u
text "ann example"
keys Tab C-u
text "medusa"
shot create
keys Escape

# Delete needs the store's name typed exactly.
keys /
text "bolt"
keys Enter C-d
text "Bolt"
shot delete
keys Escape Escape

keys "?"
shot help
keys Escape q

# The database is down: the console still starts and says so (80x24).
start "$BIN --database-url postgres://store_weaver:x@127.0.0.1:9/store_weaver --charts-dir $CHARTS --workers 0" 80 24
wait_for "database unreachable since" 20
shot db-down
keys q

# Read-only at 80x24.
start "$BIN --database-url $URL --read-only" 80 24
wait_for "Acme Shoes"
shot read-only
keys q
echo "done"
