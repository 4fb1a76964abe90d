#!/usr/bin/env bash
# Load figures for `store-weaver --serve`, on this machine, loopback only:
#   1. paged GET /api/stores with 10,000 stores over 2,000 owners in the
#      database: as an admin and as a user, the first page, a deep cursor
#      page (after 9,000 stores), filtered by status and by q; then
#      GET /api/stores/{id}; then POST /api/stores with the limits raised
#      (every create is a real engine transaction);
#   2. auth modes, access logs and creates side by side: a user's first
#      page, one store and POST /api/stores on a fresh server per
#      configuration (password, proxy and demo sign-in, each with the access
#      log off and on, log level info), every figure also as a ratio to the
#      baseline (password, access log off) measured first in the same
#      invocation, and that baseline measured again at the end (how much the
#      machine drifted meanwhile);
#   2b. (ONLY=creates, not in the default run) the create path over 40
#      users: POST /api/stores with a token per user over 40 connections,
#      this build against a baseline build (BASE_BIN) in turns, each on a
#      database of its own with 10,000 stores, medians and ratios;
#   3. SSE fan-out: 1,000 open /api/stream clients, one store changed:
#      delivery p50/p99 and memory per stream (examples/sse_fanout.rs);
#   4. sign-in under a flood of wrong passwords from 100 addresses: the
#      server's peak RSS and the latency of a correct sign-in meanwhile
#      (examples/sign_in_flood.rs).
# Each wrk figure is the median of 3 runs (by requests/s); requests/s counts
# the answers 2xx/3xx only (a create answered 503 busy made no store).
# Needs the sandbox (scripts/sandbox up) and wrk (apt-get install -y wrk).
# Uses a database of its own (dropped at the end) and workers = 0, so nothing
# is provisioned in the cluster.
#
#   scripts/bench-serve.sh [seconds-per-run (default 10)] [connections (default 32)]
#   BIN=path/to/store-weaver scripts/bench-serve.sh ...   # another build (e.g. an older one)
#   ONLY=http scripts/bench-serve.sh ...                  # the first wrk table only
#   ONLY=modes scripts/bench-serve.sh ...                 # the auth modes / access log / create table only
#   SERVER_ARGS="--api-cache false" scripts/bench-serve.sh ...   # flags for the server of the wrk table
#   LOGS_BY_LEVEL=1 BIN=old/store-weaver ONLY=modes scripts/bench-serve.sh ...
#   BASE_BIN=old/store-weaver ONLY=creates scripts/bench-serve.sh 8 40
#       # creates over 40 users, this build against BASE_BIN (default: itself);
#       # SAMPLE_WAITS=1 also samples pg_stat_activity during every run and
#       # prints what the benchmark's backends waited on (costs CPU itself);
#       # SYNC_OFF=1 adds this build with synchronous_commit off for its
#       # database (an experiment: what each commit's WAL flush costs)
#       # a build without access_log: "on" is log level info, "off" warn
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
THREADS=2
RUNS=3

if [[ -z "${DATABASE_URL:-}" || -z "${KUBECONFIG:-}" ]]; then
  env_file="${STORE_WEAVER_SANDBOX:-$HOME/.local/state/store-weaver/sandbox}/env"
  [[ -f "$env_file" ]] || { echo "DATABASE_URL/KUBECONFIG unset and no sandbox env file at $env_file; run scripts/sandbox up" >&2; exit 1; }
  # shellcheck disable=SC1090
  source "$env_file"
fi
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is not installed" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# One build: the binary alone would be built with other features than with
# the examples (their dev-dependencies), so twice.
cargo build --release --bin store-weaver --example sign_in_flood --example sse_fanout >&2
BIN="${BIN:-$CARGO_TARGET_DIR/release/store-weaver}"
FLOOD="$CARGO_TARGET_DIR/release/examples/sign_in_flood"
FANOUT="$CARGO_TARGET_DIR/release/examples/sse_fanout"

DB="sw_bench_$(date +%s)_$$"
BASE_URL="${DATABASE_URL%/*}"
QUERY=""
[[ "$DATABASE_URL" == *\?* ]] && QUERY="?${DATABASE_URL#*\?}"
BENCH_URL="$BASE_URL/$DB$QUERY"
WORK="$(mktemp -d)"
SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  stop_server
  psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql "$DATABASE_URL" -qc "CREATE DATABASE $DB"
"$BIN" --database-url "$BENCH_URL" migrate >/dev/null

PASSWORD="bench password 12345"
echo "$PASSWORD" | "$BIN" --database-url "$BENCH_URL" user add admin@bench.test --role admin >/dev/null
echo "$PASSWORD" | "$BIN" --database-url "$BENCH_URL" user add user7@bench.test --role user >/dev/null

# 10,000 stores: 2,000 owners with 5 each (user7@bench.test among them);
# every tenth Failed, the rest Ready. $1: the database URL.
seed_stores() {
psql "$1" -q <<'SQL'
INSERT INTO stores (id, name, namespace, owner, engine, status, phase, url, attempts,
                    provision_started_at, ready_at, created_at, updated_at, error_message)
SELECT gen_random_uuid(), 'Bench Store ' || i, 'store-bench-store-' || i,
       'user' || (i % 2000) || '@bench.test', 'woocommerce',
       CASE WHEN i % 10 = 0 THEN 'Failed' ELSE 'Ready' END, 'done',
       'http://bench-store-' || i || '.localhost', 1,
       now() - interval '1 hour', now() - interval '50 minutes',
       now() - make_interval(secs => i), now() - make_interval(secs => i),
       CASE WHEN i % 10 = 0 THEN 'helm install failed: timed out waiting for the condition' END
FROM generate_series(1, 10000) AS i;
ANALYZE stores;
SQL
}
seed_stores "$BENCH_URL"

# A fresh server with "$@" as extra flags; AUTH (default password) and
# LOG_LEVEL (default warn) pick those two.
start_server() {
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$BIN" --serve --database-url "$BENCH_URL" --listen "127.0.0.1:$PORT" --workers 0 --auth "${AUTH:-password}" \
    --max-stores 1000000 --max-stores-per-user 1000000 --create-rate 1000000 \
    --log-level "${LOG_LEVEL:-warn}" "$@" 2>"$WORK/server.log" &
  SERVER_PID=$!
  URL="http://127.0.0.1:$PORT"
  for _ in $(seq 1 100); do
    curl -fsS "$URL/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "$URL/readyz" >/dev/null || { echo "the server did not get ready:" >&2; cat "$WORK/server.log" >&2; exit 1; }
}
want() { [[ -z "${ONLY:-}" || "$ONLY" == "$1" ]]; }
# Modes only run when asked for.
asked() { [[ "${ONLY:-}" == "$1" ]]; }
# shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
start_server ${SERVER_ARGS:-}

token() {
  curl -fsS -X POST "$URL/api/session" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
ADMIN_TOKEN="$(token admin@bench.test)"
USER_TOKEN="$(token user7@bench.test)"
get() { curl -fsS -H "authorization: Bearer $1" "$URL$2"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# A cursor after 9,000 of the admin's 10,000 stores.
DEEP=""
for _ in $(seq 1 18); do
  DEEP="$(get "$ADMIN_TOKEN" "/api/stores?limit=500${DEEP:+&cursor=$DEEP}" | field '["next_cursor"]')"
done
USER_DEEP="$(get "$USER_TOKEN" "/api/stores?limit=2" | field '["next_cursor"]')"
SOME_ID="$(get "$USER_TOKEN" "/api/stores?limit=1" | field '["stores"][0]["id"]')"

# A wrk script that creates a new store per request, as the user whose
# credentials are the header "$1: $2".
create_lua() {
  cat <<LUA
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function request()
  counter = counter + 1
  local body = string.format('{"name":"Load %d %d %d"}', tid, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/api/stores", {
    ["content-type"] = "application/json",
    ["$1"] = "$2",
  }, body)
end
function done(summary, latency, requests)
  io.write(string.format("non-2xx/3xx responses: %d\n", summary.errors.status))
end
LUA
}
create_lua authorization "Bearer $USER_TOKEN" >"$WORK/create.lua"

# One wrk run: "req/s p50_ms p99_ms non2xx", req/s counting only the
# requests answered 2xx/3xx (a create answered 503 busy made nothing).
once() {
  wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$@" >"$WORK/run.txt" 2>&1 || true
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    function secs(v) { if (v ~ /ms,?$/) return v/1000; if (v ~ /m,?$/) return v*60; return v+0 }
    /Requests\/sec/ { rps = $2 }
    / requests in / { n = $1; t = secs($4) }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx or 3xx responses|non-2xx\/3xx responses/ { bad = $NF }
    END { if (t > 0) rps = (n - bad) / t; printf "%.0f %.2f %.2f %d\n", rps, p50, p99, bad }' "$WORK/run.txt"
}

# CPU time (clock ticks) used so far by the server, and by the PostgreSQL
# backends serving the benchmark's database (WAL writer and checkpointer
# not counted): per request, it says what a request costs whatever else the
# machine is doing (requests/s on a shared machine says more about the
# others).
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
pg_ticks() {
  local t=0 p
  for p in $(pgrep -u postgres -f " $DB " || true); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
HZ="$(getconf CLK_TCK)"
requests_done() { awk '/requests in/ { print $1 }' "$WORK/run.txt"; }

# The median of $RUNS runs (by requests/s): "req/s p50_ms p99_ms non2xx
# server_cpu_us pg_cpu_us", the CPU per request over all runs.
median_of_runs() {
  local s0 p0 n=0
  s0="$(server_ticks)"; p0="$(pg_ticks)"
  : >"$WORK/runs.txt"
  for _ in $(seq 1 "$RUNS"); do
    once "$@" >>"$WORK/runs.txt"
    n=$((n + $(requests_done)))
  done
  local cpu_server=$(( ($(server_ticks) - s0) * 1000000 / HZ / (n > 0 ? n : 1) ))
  local cpu_pg=$(( ($(pg_ticks) - p0) * 1000000 / HZ / (n > 0 ? n : 1) ))
  echo "$(sort -n "$WORK/runs.txt" | sed -n "$(( (RUNS + 1) / 2 ))p") $cpu_server $cpu_pg"
}

# The median of $RUNS runs as a table row, with the CPU per request.
row() {
  local title="$1" bytes="$2"; shift 2
  local rps p50 p99 bad cpu_server cpu_pg
  read -r rps p50 p99 bad cpu_server cpu_pg < <(median_of_runs "$@")
  printf '| %s | %s | %s | %s ms | %s ms | %s | %s µs | %s µs |\n' "$title" "$bytes" "$rps" "$p50" "$p99" "$bad" "$cpu_server" "$cpu_pg"
}
bytes() { get "$1" "$2" | wc -c | tr -d ' '; }

if want http; then
echo "store-weaver --serve load figures ($(nproc) CPUs, $(date -u +%FT%TZ)); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, median of $RUNS runs, loopback, $BIN, auth = password (bearer token), workers = 0, server flags: ${SERVER_ARGS:-none}"
echo "stores: 10,000 over 2,000 owners (5 each); total as admin: $(get "$ADMIN_TOKEN" "/api/stores?limit=1" | field '["total"]')"
echo
echo "| request | bytes | req/s | p50 | p99 | non-2xx | server CPU per request | PostgreSQL CPU per request |"
echo "|---|---|---|---|---|---|---|---|"
A=(-H "authorization: Bearer $ADMIN_TOKEN")
U=(-H "authorization: Bearer $USER_TOKEN")
for spec in \
  "admin, first page|A|/api/stores?limit=50" \
  "admin, deep cursor page (after 9,000)|A|/api/stores?limit=50&cursor=$DEEP" \
  "admin, status=Failed|A|/api/stores?limit=50&status=Failed" \
  "admin, q=store-99 (substring)|A|/api/stores?limit=50&q=store-99" \
  "user, first page (5 of 10,000)|U|/api/stores?limit=50" \
  "user, cursor page|U|/api/stores?limit=2&cursor=$USER_DEEP" \
  "user, status=Ready|U|/api/stores?limit=50&status=Ready" \
  "user, q=bench|U|/api/stores?limit=50&q=bench" \
  "GET /api/stores/{id} (user)|U|/api/stores/$SOME_ID"; do
  IFS='|' read -r title who path <<<"$spec"
  if [[ "$who" == A ]]; then hdr=("${A[@]}"); tok="$ADMIN_TOKEN"; else hdr=("${U[@]}"); tok="$USER_TOKEN"; fi
  row "$title" "$(bytes "$tok" "$path")" "${hdr[@]}" "$URL$path"
done
before="$(psql "$BENCH_URL" -Atc "SELECT count(*) FROM stores")"
row "POST /api/stores (limits raised; each a new store)" "-" -s "$WORK/create.lua" "$URL"
after="$(psql "$BENCH_URL" -Atc "SELECT count(*) FROM stores")"
echo
echo "stores created during the POST runs: $((after - before))"
errors="$(grep -ci 'error\|panic' "$WORK/server.log" || true)"
echo "server log lines mentioning error/panic: $errors"
grep -i 'error\|panic' "$WORK/server.log" | head -5 || true
fi
if want modes; then
# Auth modes x access log, and creates. Every configuration runs on a fresh
# server at log level info (the default), and the configurations take
# turns, one run of each request per turn, $RUNS turns: a neighbour that
# slows the machine for a minute slows every configuration alike, where one
# configuration after another would charge it to whichever ran then. Each
# figure is the median of its $RUNS runs and a ratio to the same request in
# the first configuration. Before each server the creates of the one before
# are removed and the rate-limit rows emptied, so that no configuration's
# creates pay for fuller tables than another's.
stop_server
SOME_ID="$(psql "$BENCH_URL" -Atc "SELECT id FROM stores WHERE owner = 'user7@bench.test' AND name LIKE 'Bench Store %' ORDER BY created_at DESC LIMIT 1")"
reset_creates() {
  psql "$BENCH_URL" -q <<'SQL'
DELETE FROM audit_log WHERE store_name LIKE 'Load %';
DELETE FROM operations WHERE store_id IN (SELECT id FROM stores WHERE name LIKE 'Load %');
DELETE FROM stores WHERE name LIKE 'Load %';
TRUNCATE rate_limit_events;
DO $$ BEGIN IF to_regclass('rate_counters') IS NOT NULL THEN TRUNCATE rate_counters; END IF; END $$;
VACUUM ANALYZE stores, operations, audit_log, rate_limit_events;
SQL
}
access_lines() { grep -cE 'store_weaver::access|response.*status' "$WORK/server.log" || true; }
CONFIGS=(
  "password, access log off (baseline)|password|0"
  "password, access log on|password|1"
  "proxy, access log off|proxy|0"
  "proxy, access log on|proxy|1"
  "demo, access log off|demo|0"
  "demo, access log on|demo|1"
  "password, access log off (baseline again, last in each turn)|password|0"
)
REQUESTS=(
  "user, first page|GET|/api/stores?limit=50"
  "one store|GET|/api/stores/$SOME_ID"
  "POST /api/stores (creates)|POST|"
)
for _ in $(seq 1 "$RUNS"); do
  for ci in "${!CONFIGS[@]}"; do
    IFS='|' read -r _ mode log <<<"${CONFIGS[$ci]}"
    reset_creates
    if [[ -n "${LOGS_BY_LEVEL:-}" ]]; then
      # A build from before access_log: its per-request lines were info events.
      level="$([[ "$log" == 1 ]] && echo info || echo warn)"; extra=()
    else
      level=info; extra=(--access-log "$log")
    fi
    [[ "$mode" == proxy ]] && extra+=(--trusted-proxies 127.0.0.1/32)
    AUTH="$mode" LOG_LEVEL="$level" start_server "${extra[@]}"
    case "$mode" in
      password) who=(authorization "Bearer $(token user7@bench.test)") ;;
      proxy) who=(x-forwarded-user user7@bench.test) ;;
      demo) who=(x-user-id user7@bench.test) ;;
    esac
    create_lua "${who[0]}" "${who[1]}" >"$WORK/create-mode.lua"
    for ri in "${!REQUESTS[@]}"; do
      IFS='|' read -r _ method path <<<"${REQUESTS[$ri]}"
      lines0="$(access_lines)"; s0="$(server_ticks)"
      if [[ "$method" == GET ]]; then
        result="$(once -H "${who[0]}: ${who[1]}" "$URL$path")"
      else
        result="$(once -s "$WORK/create-mode.lua" "$URL")"
      fi
      n="$(requests_done)"; n="${n:-0}"
      cpu=$(( ($(server_ticks) - s0) * 1000000 / HZ / (n > 0 ? n : 1) ))
      echo "$result $cpu $(( $(access_lines) - lines0 )) $n" >>"$WORK/modes-$ci-$ri.txt"
    done
    stop_server
  done
done
echo
echo "== auth modes, access logs and creates ($(nproc) CPUs, $(date -u +%FT%TZ)); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, median of $RUNS runs taken in turns, a fresh server per configuration and turn, log level info, stderr to a file, workers = 0, $BIN"
echo "req/s: answered 2xx/3xx per second; ratio: to the same request in the first configuration; access lines: written per request (of the median run)"
echo
echo "| configuration | request | req/s | ratio | p50 | p99 | non-2xx | server CPU per request | access lines per request |"
echo "|---|---|---|---|---|---|---|---|---|"
for ci in "${!CONFIGS[@]}"; do
  IFS='|' read -r title _ _ <<<"${CONFIGS[$ci]}"
  for ri in "${!REQUESTS[@]}"; do
    IFS='|' read -r what _ _ <<<"${REQUESTS[$ri]}"
    read -r rps p50 p99 bad cpu lines n < <(sort -n "$WORK/modes-$ci-$ri.txt" | sed -n "$(( (RUNS + 1) / 2 ))p")
    read -r base _ < <(sort -n "$WORK/modes-0-$ri.txt" | sed -n "$(( (RUNS + 1) / 2 ))p")
    ratio="$(awk -v a="$rps" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    per="$(awk -v a="$lines" -v b="$n" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    printf '| %s | %s | %s | %s | %s ms | %s ms | %s | %s µs | %s |\n' "$title" "$what" "$rps" "$ratio" "$p50" "$p99" "$bad" "$cpu" "$per"
  done
done
reset_creates
fi

if asked creates; then
# The create path over 40 users: this build and a baseline build take
# turns ($RUNS each), each on a database of its own (migrated by its own
# binary) seeded with the 10,000 stores, and a fresh server per run. Each
# request is a new store of one of the 40 users (a token each, the thread's
# tokens in turn), all from 127.0.0.1. Before each run that build's creates
# and rate-limit rows are removed.
stop_server
BASE_BIN="${BASE_BIN:-$BIN}"
USERS=40
BUILDS=("baseline|$BASE_BIN" "this build|$BIN")
# An experiment, not a setting of ours: what the WAL flush of each commit
# costs, with synchronous_commit off for that database (a crash loses the
# last commits).
[[ -n "${SYNC_OFF:-}" ]] && BUILDS+=("this build, synchronous_commit = off|$BIN|off")
create_db() {
  local db="$1" bin="$2" url="$BASE_URL/$1$QUERY"
  psql "$DATABASE_URL" -qc "CREATE DATABASE $db"
  "$bin" --database-url "$url" migrate >/dev/null
  seed_stores "$url"
  echo "$PASSWORD" | "$bin" --database-url "$url" user add c0@bench.test --role user >/dev/null
  # The others share c0's password hash (one Argon2 hash is enough).
  psql "$url" -qc "INSERT INTO users (id, email, password_hash, role)
    SELECT gen_random_uuid(), 'c' || i || '@bench.test', u.password_hash, 'user'
    FROM generate_series(1, $((USERS - 1))) AS i, users u WHERE u.email = 'c0@bench.test'"
}
reset_db() {
  psql "$1" -q <<'SQL'
DELETE FROM audit_log WHERE store_name LIKE 'Load %';
DELETE FROM operations WHERE store_id IN (SELECT id FROM stores WHERE name LIKE 'Load %');
DELETE FROM stores WHERE name LIKE 'Load %';
TRUNCATE rate_limit_events;
DO $$ BEGIN IF to_regclass('rate_counters') IS NOT NULL THEN TRUNCATE rate_counters; END IF; END $$;
VACUUM ANALYZE stores, operations, audit_log, rate_limit_events;
SQL
}
# A wrk script: each request a new store, as the thread's users in turn
# (thread 1 the first half of the tokens, thread 2 the second).
multi_create_lua() {
  echo "local tokens = {"
  for t in "$@"; do echo "  \"$t\","; done
  cat <<'LUA'
}
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  local per = math.floor(#tokens / 2)
  first = (tid - 1) * per
end
function request()
  counter = counter + 1
  local token = tokens[first + (counter % math.floor(#tokens / 2)) + 1]
  local body = string.format('{"name":"Load %d %d %d"}', tid, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/api/stores", {
    ["content-type"] = "application/json",
    ["authorization"] = "Bearer " .. token,
  }, body)
end
function done(summary, latency, requests)
  io.write(string.format("non-2xx/3xx responses: %d\n", summary.errors.status))
end
LUA
}
# Samples the active backends of database $1 every 20 ms into $2 while
# the file $WORK/sampling exists: "wait_event_type:wait_event|statement".
sample_waits() {
  while [[ -e "$WORK/sampling" ]]; do
    echo "SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, 'running') || '|' || left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_activity WHERE datname = '$1' AND state = 'active' AND pid <> pg_backend_pid();"
    sleep 0.02
  done | psql "$DATABASE_URL" -At >>"$2" 2>/dev/null
}
CDBS=()
for bi in "${!BUILDS[@]}"; do
  IFS='|' read -r _ bin sync <<<"${BUILDS[$bi]}"
  CDBS[bi]="${DB}_c$bi"
  create_db "${CDBS[$bi]}" "$bin"
  [[ -n "$sync" ]] && psql "$DATABASE_URL" -qc "ALTER DATABASE ${CDBS[$bi]} SET synchronous_commit = $sync"
done
drop_cdbs() { for d in "${CDBS[@]}"; do psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done; }
trap 'drop_cdbs; cleanup' EXIT
for _ in $(seq 1 "$RUNS"); do
  for bi in "${!BUILDS[@]}"; do
    IFS='|' read -r _ bin _ <<<"${BUILDS[$bi]}"
    url="$BASE_URL/${CDBS[$bi]}$QUERY"
    reset_db "$url"
    saved_bin="$BIN"; saved_db="$DB"; saved_url="$BENCH_URL"
    BIN="$bin"; DB="${CDBS[$bi]}"; BENCH_URL="$url"
    start_server
    toks=()
    for i in $(seq 0 $((USERS - 1))); do toks+=("$(token "c$i@bench.test")"); done
    multi_create_lua "${toks[@]}" >"$WORK/creates.lua"
    [[ -n "${SAMPLE_WAITS:-}" ]] && { touch "$WORK/sampling"; sample_waits "$DB" "$WORK/waits-$bi.txt" & SAMPLER=$!; }
    s0="$(server_ticks)"; p0="$(pg_ticks)"
    result="$(once -s "$WORK/creates.lua" "$URL")"
    n="$(requests_done)"; n="${n:-0}"
    cpu=$(( ($(server_ticks) - s0) * 1000000 / HZ / (n > 0 ? n : 1) ))
    cpu_pg=$(( ($(pg_ticks) - p0) * 1000000 / HZ / (n > 0 ? n : 1) ))
    [[ -n "${SAMPLE_WAITS:-}" ]] && { rm -f "$WORK/sampling"; wait "$SAMPLER" || true; }
    made="$(psql "$url" -Atc "SELECT count(*) FROM stores WHERE name LIKE 'Load %'")"
    echo "$result $cpu $cpu_pg $n $made" >>"$WORK/creates-$bi.txt"
    stop_server
    BIN="$saved_bin"; DB="$saved_db"; BENCH_URL="$saved_url"
  done
done
echo
echo "== creates over $USERS users ($(nproc) CPUs, $(date -u +%FT%TZ)); wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $RUNS runs per build taken in turns, a fresh server per run, workers = 0, limits and the create rate raised, 10,000 stores in each database${SAMPLE_WAITS:+, pg_stat_activity sampled every 20 ms}"
echo "baseline: $BASE_BIN; this build: $BIN"
echo
echo "| build | creates/s (runs) | median | ratio | p50 | p99 (median run) | non-2xx | server CPU per create | PostgreSQL CPU per create | stores made = 2xx |"
echo "|---|---|---|---|---|---|---|---|---|---|"
read -r base _ < <(sort -n "$WORK/creates-0.txt" | sed -n "$(( (RUNS + 1) / 2 ))p")
for bi in "${!BUILDS[@]}"; do
  IFS='|' read -r title _ <<<"${BUILDS[$bi]}"
  runs="$(awk '{print $1}' "$WORK/creates-$bi.txt" | paste -sd/ -)"
  read -r rps p50 p99 bad cpu cpu_pg n made < <(sort -n "$WORK/creates-$bi.txt" | sed -n "$(( (RUNS + 1) / 2 ))p")
  ratio="$(awk -v a="$rps" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
  # wrk's count includes requests answered after its clock stopped: "made"
  # is compared with the 2xx it counted, give or take the connections.
  printf '| %s | %s | %s | %s | %s ms | %s ms | %s | %s µs | %s µs | %s of %s |\n' "$title" "$runs" "$rps" "$ratio" "$p50" "$p99" "$bad" "$cpu" "$cpu_pg" "$made" "$((n - bad))"
done
if [[ -n "${SAMPLE_WAITS:-}" ]]; then
  for bi in "${!BUILDS[@]}"; do
    IFS='|' read -r title _ <<<"${BUILDS[$bi]}"
    echo
    echo "$title: active backends sampled $(wc -l <"$WORK/waits-$bi.txt") times; the most frequent (wait | statement):"
    sort "$WORK/waits-$bi.txt" | uniq -c | sort -rn | head -8
  done
fi
fi

if want fanout; then
# SSE fan-out, on a fresh server that lets one user hold 1,000 streams.
stop_server
start_server --max-streams-per-user 5000
ADMIN_TOKEN="$(token admin@bench.test)"
echo
echo "== SSE fan-out: 1,000 streams (one admin token), 5 changes of one store"
"$FANOUT" "$URL" "$SERVER_PID" "$ADMIN_TOKEN" "$BENCH_URL" "$SOME_ID" 1000 5
fi

if want flood; then
# Sign-in under a flood, on a fresh server (its own peak RSS).
stop_server
start_server
echo
echo "== sign-in flood: 100 clients (100 loopback addresses) sending wrong passwords for 20 s"
"$FLOOD" "$URL" "$SERVER_PID" user7@bench.test "$PASSWORD" 100 20
fi
