#!/usr/bin/env bash
# Load figures for `store-weaver --serve`, on this machine, loopback only:
#   1. GET /api/stores with 1,000 stores in the database (as an admin, who
#      gets all 1,000, and as a user, who gets their 5);
#   2. POST /api/stores with the limits raised (every create is a real
#      engine transaction: limits checked under the create lock, store row,
#      queued operation, audit entry, notification; plus the rate-limit
#      transaction and the session lookup).
# Needs the sandbox (scripts/sandbox up) and wrk (apt-get install -y wrk).
# Uses a database of its own (dropped at the end) and workers = 0, so nothing
# is provisioned in the cluster.
#
#   scripts/bench-serve.sh [seconds-per-run (default 20)] [connections (default 32)]
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION="${1:-20}"
CONNECTIONS="${2:-32}"
THREADS=2

if [[ -z "${DATABASE_URL:-}" || -z "${KUBECONFIG:-}" ]]; then
  env_file="${STORE_WEAVER_SANDBOX:-$HOME/.local/state/store-weaver/sandbox}/env"
  [[ -f "$env_file" ]] || { echo "DATABASE_URL/KUBECONFIG unset and no sandbox env file at $env_file; run scripts/sandbox up" >&2; exit 1; }
  # shellcheck disable=SC1090
  source "$env_file"
fi
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is not installed" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --bin store-weaver >&2
BIN="$CARGO_TARGET_DIR/release/store-weaver"

DB="sw_bench_$(date +%s)_$$"
BASE_URL="${DATABASE_URL%/*}"
QUERY=""
[[ "$DATABASE_URL" == *\?* ]] && QUERY="?${DATABASE_URL#*\?}"
BENCH_URL="$BASE_URL/$DB$QUERY"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql "$DATABASE_URL" -qc "CREATE DATABASE $DB"
"$BIN" --database-url "$BENCH_URL" migrate >/dev/null

PASSWORD="bench password 12345"
echo "$PASSWORD" | "$BIN" --database-url "$BENCH_URL" user add admin@bench.test --role admin >/dev/null
echo "$PASSWORD" | "$BIN" --database-url "$BENCH_URL" user add user7@bench.test --role user >/dev/null

# 1,000 Ready stores: 200 owners with 5 each (user7@bench.test among them).
psql "$BENCH_URL" -q <<'SQL'
INSERT INTO stores (id, name, namespace, owner, engine, status, phase, url, attempts,
                    provision_started_at, ready_at, created_at, updated_at)
SELECT gen_random_uuid(), 'Bench Store ' || i, 'store-bench-store-' || i,
       'user' || (i % 200) || '@bench.test', 'woocommerce', 'Ready', 'done',
       'http://bench-store-' || i || '.localhost', 1,
       now() - interval '1 hour', now() - interval '50 minutes',
       now() - make_interval(secs => i), now() - make_interval(secs => i)
FROM generate_series(1, 1000) AS i;
SQL

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN" --serve --database-url "$BENCH_URL" --listen "127.0.0.1:$PORT" --workers 0 --auth password \
  --max-stores 10000000 --max-stores-per-user 10000000 --create-rate 10000000 \
  --log-level warn 2>"$WORK/server.log" &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  curl -fsS "$URL/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$URL/readyz" >/dev/null || { echo "the server did not get ready:" >&2; cat "$WORK/server.log" >&2; exit 1; }

token() {
  curl -fsS -X POST "$URL/api/session" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
ADMIN_TOKEN="$(token admin@bench.test)"
USER_TOKEN="$(token user7@bench.test)"
n_admin="$(curl -fsS -H "authorization: Bearer $ADMIN_TOKEN" "$URL/api/stores" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["stores"]))')"
n_user="$(curl -fsS -H "authorization: Bearer $USER_TOKEN" "$URL/api/stores" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["stores"]))')"
bytes_admin="$(curl -fsS -H "authorization: Bearer $ADMIN_TOKEN" "$URL/api/stores" | wc -c)"

cat >"$WORK/create.lua" <<LUA
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
end
function request()
  counter = counter + 1
  local body = string.format('{"name":"Load %d %d %d"}', tid, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/api/stores", {
    ["content-type"] = "application/json",
    ["authorization"] = "Bearer $USER_TOKEN",
  }, body)
end
statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  io.write(string.format("non-2xx/3xx responses: %d\n", summary.errors.status))
end
LUA

run() {
  local title="$1"; shift
  echo
  echo "== $title"
  wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$@" | tee "$WORK/last.txt"
}

echo "store-weaver --serve load figures ($(nproc) CPUs, $(date -u +%FT%TZ)); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, loopback, release build, auth = password (bearer token), workers = 0"
echo "stores in the database: 1000; admin sees $n_admin ($bytes_admin bytes of JSON), user7 sees $n_user"

run "GET /api/stores as admin (all 1,000 stores)" -H "authorization: Bearer $ADMIN_TOKEN" "$URL/api/stores"
run "GET /api/stores as a user (5 of the 1,000 stores)" -H "authorization: Bearer $USER_TOKEN" "$URL/api/stores"
before="$(psql "$BENCH_URL" -Atc "SELECT count(*) FROM stores")"
run "POST /api/stores (limits raised; each a new store)" -s "$WORK/create.lua" "$URL"
after="$(psql "$BENCH_URL" -Atc "SELECT count(*) FROM stores")"
echo "stores created during the POST run: $((after - before))"
errors="$(grep -ci 'error\|panic' "$WORK/server.log" || true)"
echo "server log lines mentioning error/panic: $errors"
grep -i 'error\|panic' "$WORK/server.log" | head -5 || true
