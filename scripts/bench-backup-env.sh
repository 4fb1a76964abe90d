# What the backup benchmarks share (sourced): a database of the run's own
# (dropped by the caller's cleanup), a fresh backup key and the sandbox's S3
# credentials, all in the environment (never on a command line), and no
# user config file. Sets run_id, dbname and base_url; needs the sandbox's
# env loaded and $1, the run's name prefix.
run_id="$1$(date +%s)"
dbname="sw_${run_id}"
psql "$DATABASE_URL" -qc "CREATE DATABASE $dbname" >/dev/null
base_url="${DATABASE_URL%/*}"
export DATABASE_URL="$base_url/$dbname"
export STORE_WEAVER_BACKUP_KEY
STORE_WEAVER_BACKUP_KEY="$(head -c 32 /dev/urandom | base64)"
export AWS_ACCESS_KEY_ID="$SANDBOX_S3_ACCESS_KEY_ID"
export AWS_SECRET_ACCESS_KEY="$SANDBOX_S3_SECRET_ACCESS_KEY"
export XDG_CONFIG_HOME="/tmp/sw-bench-no-config"
