#!/usr/bin/env bash
# The cost of a fleet-wide scheduled backup run (docs/backups.md,
# "Measured"): N WooCommerce stores on the sandbox's real node, each given
# some data, their backups all queued at once, and one worker process (the
# default backup_concurrency, 2) backs them up: stores per minute, the time
# each backup took, and the worker's peak RSS.
#
#   scripts/bench-fleet-backup.sh [N] [MB_PER_STORE]      default: 6 10
#   BIN=path/to/store-weaver scripts/bench-fleet-backup.sh   (no build)
#
# Half of each store's MB goes into its database (text rows), half into its
# uploads (random bytes). Needs `scripts/sandbox up`. Secrets go through the
# environment.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1090
source "${SANDBOX_ENV:-$HOME/.local/state/store-weaver/sandbox/env}"
n=${1:-6}
mb=${2:-10}

if [ -z "${BIN:-}" ]; then
  cargo build --release --bin store-weaver >&2
  BIN="${CARGO_TARGET_DIR:-target}/release/store-weaver"
fi

# shellcheck source=scripts/bench-backup-env.sh
source scripts/bench-backup-env.sh fleet

# No schedule (a slot may pass meanwhile and add a backup); the default
# backup_concurrency.
setup=("$BIN" --kubeconfig "$KUBECONFIG" --charts-dir charts
  --values-file "woocommerce=charts/woocommerce/values-local.yaml"
  --extra-values-files "woocommerce=$SANDBOX_REAL_NODE_VALUES"
  --provision-timeout 900 --drill-every-days 0 --backup-every-hours 0
  --backup-bucket "$SANDBOX_S3_BUCKET" --backup-endpoint "$SANDBOX_S3_ENDPOINT"
  --backup-region "$SANDBOX_S3_REGION" --backup-prefix "$run_id/")

work=$(mktemp -d)
worker_pid=""
cleanup() {
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null
  for name in $(psql "$DATABASE_URL" -tAc "SELECT name FROM stores WHERE status <> 'Deleted'" 2>/dev/null); do
    "${setup[@]}" store delete "$name" --no-backup >/dev/null 2>&1 || true
  done
  "${setup[@]}" --workers 4 worker >/dev/null 2>&1 &
  local w=$!
  for _ in $(seq 1 120); do
    left=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM stores WHERE status <> 'Deleted'" 2>/dev/null || echo 0)
    [ "$left" = 0 ] && break
    sleep 5
  done
  kill "$w" 2>/dev/null; wait "$w" 2>/dev/null
  rm -rf "$work"
  psql "$base_url/postgres" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

pod_of() { # namespace component
  kubectl get pods -n "$1" -l "app.kubernetes.io/component=$2" -o jsonpath='{.items[0].metadata.name}'
}

echo "[fleet] creating $n stores" >&2
for i in $(seq 1 "$n"); do
  "${setup[@]}" store create "fleet-$i-$run_id" --owner "bench$i@example.com" --engine woocommerce --json >/dev/null
done
"${setup[@]}" --workers 5 worker >"$work/setup.log" 2>&1 &
worker_pid=$!
for _ in $(seq 1 180); do
  ready=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM stores WHERE status = 'Ready'")
  failed=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM stores WHERE status = 'Failed'")
  [ "$failed" = 0 ] || { echo "a store failed to provision" >&2; exit 1; }
  [ "$ready" = "$n" ] && break
  sleep 5
done
[ "$ready" = "$n" ] || { echo "only $ready of $n stores Ready" >&2; exit 1; }

echo "[fleet] filling each store with $mb MB" >&2
half=$(( mb * 1024 * 1024 / 2 ))
rows=$(( half / 100 ))
for ns in $(psql "$DATABASE_URL" -tAc "SELECT namespace FROM stores"); do
  kubectl exec -n "$ns" "$(pod_of "$ns" database)" -c mariadb -- bash -c \
    "MYSQL_PWD=\"\$MARIADB_ROOT_PASSWORD\" mariadb -uroot \"\$MARIADB_DATABASE\" -e \
      \"CREATE TABLE bench_rows (t text); INSERT INTO bench_rows SELECT concat(md5(rand()), md5(rand()), md5(rand())) FROM seq_1_to_$rows\"" >/dev/null
  kubectl exec -n "$ns" "$(pod_of "$ns" wordpress)" -c wordpress -- \
    sh -c "head -c $half /dev/urandom > /var/www/html/wp-content/bench.bin"
done
kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
worker_pid=""

# Every store's backup queued at once, then one worker process at the
# default cap works through them: the same queue, claim and cap a fleet's
# scheduled backups take (the scheduler itself only queues them, spread
# over the interval; this is the worst a burst can be).
for name in $(psql "$DATABASE_URL" -tAc "SELECT name FROM stores"); do
  "${setup[@]}" store backup "$name" >/dev/null
done

echo "[fleet] backing up $n stores on the default schedule and cap" >&2
t0=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/worker.rss" "${setup[@]}" --workers 4 worker >"$work/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 1 720); do
  done_n=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM backups WHERE state IN ('complete', 'failed')")
  [ "$done_n" -ge "$n" ] && break
  sleep 1
done
t1=$(date +%s.%N)
# GNU time ignores SIGINT while its command runs: the worker itself is told.
pkill -INT -P "$worker_pid" 2>/dev/null || true
wait "$worker_pid" 2>/dev/null || true
worker_pid=""
queued=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM backups")
psql "$DATABASE_URL" -tAc "
  SELECT count(*) FILTER (WHERE state = 'complete'), count(*) FILTER (WHERE state = 'failed'),
         round(avg(extract(epoch FROM finished_at - started_at))::numeric, 1),
         round(max(extract(epoch FROM finished_at - started_at))::numeric, 1),
         round((sum(bytes) / 1048576.0)::numeric, 1)
  FROM backups" | tr '|' ' ' >"$work/summary"
read -r complete failed avg max stored <"$work/summary"
rss_kb=$(cat "$work/worker.rss" 2>/dev/null || echo 0)
awk -v n="$n" -v mb="$mb" -v t0="$t0" -v t1="$t1" -v q="$queued" -v c="$complete" -v f="$failed" \
    -v avg="$avg" -v max="$max" -v st="$stored" -v rss="$rss_kb" 'BEGIN {
  wall = t1 - t0
  printf "%-7s %-8s %-10s %-7s %-9s %-7s %-9s %-11s %-13s %-7s %-8s\n", "STORES", "MB_EACH", "STORED_MB", "QUEUED", "COMPLETE", "FAILED", "WALL_S", "STORES/MIN", "AVG_BACKUP_S", "MAX_S", "RSS_MB"
  printf "%-7d %-8d %-10s %-7d %-9d %-7d %-9.1f %-11.1f %-13s %-7s %-8.1f\n", n, mb, st, q, c, f, wall, c / wall * 60, avg, max, rss / 1024
}'
awk -v n="$n" -v t0="$t0" -v t1="$t1" 'BEGIN {
  per_min = n / (t1 - t0) * 60
  printf "at this rate one worker process at the default cap backs up %d stores a day\n", per_min * 60 * 24
}'
