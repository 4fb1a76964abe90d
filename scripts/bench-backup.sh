#!/usr/bin/env bash
# Backup and restore of a Medusa store on the sandbox's real node, against
# its S3 server, at several store sizes: time, throughput, bytes stored and
# the platform's peak RSS (docs/backups.md, "Measured").
#
#   scripts/bench-backup.sh [SIZE_MB...]        default: 1 100 1000
#   BIN=path/to/store-weaver scripts/bench-backup.sh 1   (no build)
#
# Half of each size goes into the store's database (text rows, as shop data
# is: it compresses), half into its uploads (random bytes, as images are:
# they do not). Each size: a store is created (--wait), filled, backed up
# with `store backup --wait` and restored in place with `store restore
# --wait`, each timed as a whole process with its peak RSS (the command
# runs the workers in process, so that is the platform doing the work);
# then deleted without a final backup. Needs `scripts/sandbox up`.
# Secrets (the database URL, S3 credentials, the backup key) go through the
# environment, never the command line.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1090
source "${SANDBOX_ENV:-$HOME/.local/state/store-weaver/sandbox/env}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 100 1000)

# BIN: a binary to measure instead of this checkout's release build.
if [ -z "${BIN:-}" ]; then
  cargo build --release --bin store-weaver >&2
  BIN="${CARGO_TARGET_DIR:-target}/release/store-weaver"
fi

# shellcheck source=scripts/bench-backup-env.sh
source scripts/bench-backup-env.sh bench

SW=("$BIN" --kubeconfig "$KUBECONFIG" --charts-dir charts
  --values-file "medusa=charts/medusa/values-local.yaml"
  --extra-values-files "medusa=$SANDBOX_REAL_NODE_VALUES_MEDUSA"
  --provision-timeout 900
  --backup-bucket "$SANDBOX_S3_BUCKET" --backup-endpoint "$SANDBOX_S3_ENDPOINT"
  --backup-region "$SANDBOX_S3_REGION" --backup-prefix "$run_id/")

# "<seconds> <peak RSS in KiB>" of a command, its output to $1.
timed() {
  local out=$1
  shift
  /usr/bin/time -f '%e %M' -o "$out.time" "$@" >"$out" 2>"$out.err" || {
    echo "failed: $*" >&2
    tail -20 "$out.err" >&2
    return 1
  }
  cat "$out.time"
}

pod_of() { # namespace component
  kubectl get pods -n "$1" -l "app.kubernetes.io/component=$2" -o jsonpath='{.items[0].metadata.name}'
}

work=$(mktemp -d)
created=()
cleanup() {
  # Stores a failed step left behind, then the run's database.
  for n in ${created[@]+"${created[@]}"}; do
    "${SW[@]}" store delete "$n" --no-backup --wait >/dev/null 2>&1 || echo "delete of $n failed" >&2
  done
  rm -rf "$work"
  psql "$base_url/postgres" -qc "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

printf '%-8s %-10s %-10s %-12s %-10s %-12s %-12s %-10s\n' \
  SIZE_MB STORED_MB BACKUP_S BACKUP_MB/S RSS_MB RESTORE_S RESTORE_MB/S RSS_MB
for size in "${sizes[@]}"; do
  name="bench-$size-$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  created+=("$name")
  "${SW[@]}" store create "$name" --owner bench@example.com --engine medusa --wait --json >"$work/create" 2>"$work/create.err" || {
    echo "create failed" >&2; tail -20 "$work/create.err" >&2; exit 1
  }
  ns=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["namespace"])' "$work/create")
  half=$(( size * 1024 * 1024 / 2 ))
  rows=$(( half / 100 ))
  kubectl exec -n "$ns" "$(pod_of "$ns" postgres)" -c postgres -- bash -c \
    "PGPASSWORD=\"\$POSTGRES_PASSWORD\" psql -h 127.0.0.1 -U \"\$POSTGRES_USER\" -d \"\$POSTGRES_DB\" -qv ON_ERROR_STOP=1 \
      -c 'CREATE TABLE bench_rows (t text)' \
      -c \"INSERT INTO bench_rows SELECT md5(random()::text) || md5(random()::text) || md5(random()::text) FROM generate_series(1, $rows)\"" >/dev/null
  kubectl exec -n "$ns" "$(pod_of "$ns" server)" -c medusa -- \
    sh -c "head -c $half /dev/urandom > /app/server/static/bench.bin"

  read -r b_s b_rss < <(timed "$work/backup" "${SW[@]}" store backup "$name" --wait --json)
  stored=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backup"]["bytes"])' "$work/backup")
  read -r r_s r_rss < <(timed "$work/restore" "${SW[@]}" store restore "$name" --wait --json)
  awk -v size="$size" -v stored="$stored" -v bs="$b_s" -v br="$b_rss" -v rs="$r_s" -v rr="$r_rss" 'BEGIN {
    mb = size; st = stored / 1048576;
    printf "%-8d %-10.1f %-10.1f %-12.1f %-10.1f %-12.1f %-12.1f %-10.1f\n", mb, st, bs, mb / bs, br / 1024, rs, mb / rs, rr / 1024
  }'
  "${SW[@]}" store delete "$name" --no-backup --wait >/dev/null 2>&1 || echo "delete of $name failed" >&2
  created=()
done
