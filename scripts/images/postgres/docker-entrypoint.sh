#!/bin/bash
# Entrypoint of the sandbox's PostgreSQL image (scripts/build-images.sh):
# Debian's PostgreSQL 15 behind the official `postgres` image's contract:
#   * POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#     POSTGRES_USER (default postgres), POSTGRES_DB (default the user),
#     POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256);
#     each also as *_FILE;
#   * PGDATA (default /var/lib/postgresql/data) initialised on the first start
#     (with a server listening on no TCP address meanwhile), kept after; as
#     upstream, PGDATA must be a directory the server may own with mode 0700,
#     so a volume's root is best used through a subdirectory
#     (PGDATA=/var/lib/postgresql/data/pgdata);
#   * /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz run once;
#   * the server runs as PID 1 (exec); SIGINT (the image's stop signal) is
#     PostgreSQL's fast shutdown.
# The password goes to initdb through a pipe, never a command line or a log.
set -Eeuo pipefail
shopt -s nullglob

note() { printf '%s [entrypoint] %s\n' "$(date '+%F %T %Z')" "$*"; }
die() { printf '%s [entrypoint] error: %s\n' "$(date '+%F %T %Z')" "$*" >&2; exit 1; }

file_env() { # var default
  local var=$1 file="${1}_FILE" v=${2:-}
  if [ -n "${!var:-}" ] && [ -n "${!file:-}" ]; then die "both $var and $file are set (but are exclusive)"; fi
  if [ -n "${!var:-}" ]; then v=${!var}
  elif [ -n "${!file:-}" ]; then v=$(<"${!file}")
  fi
  printf -v "$var" '%s' "$v"
  export "${var?}"
  unset "$file"
}

if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi
[ "$1" = postgres ] || exec "$@"
for a in "$@"; do case "$a" in -'?' | --help | --describe-config | -V | --version) exec "$@" ;; esac; done

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 00700 "$PGDATA"
  mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql && chmod 03775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

mkdir -p "$PGDATA"
chmod 00700 "$PGDATA" 2>/dev/null || true

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
: "${POSTGRES_HOST_AUTH_METHOD:=}"

temp_pid_file="$PGDATA/postmaster.pid"
on_term() {
  note "SIGTERM before the server started: stopping the initialisation"
  [ ! -f "$temp_pid_file" ] || pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
  exit 143
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    die "Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\".
       (or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password: not recommended)"
  fi
  [ -w "$PGDATA" ] || die "$PGDATA is not writable by uid $(id -u)"
  trap on_term TERM INT
  note "initialising $PGDATA"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options
  if [ -n "$POSTGRES_PASSWORD" ]; then
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
  else
    initdb --username="$POSTGRES_USER" $POSTGRES_INITDB_ARGS
  fi
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  # Local connections only (the socket) while initialising.
  PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  psql_() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"; }
  if [ "$POSTGRES_DB" != postgres ]; then
    note "creating database $POSTGRES_DB"
    psql_ --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    # shellcheck disable=SC1090 # the image user's own scripts
    case "$f" in
      *.sh) note "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) note "running $f"; psql_ --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) note "running $f"; gunzip -c "$f" | psql_ --dbname "$POSTGRES_DB" ;;
      *) note "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  trap - TERM INT
  note "PostgreSQL init process complete; ready for start up."
else
  note "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi

exec "$@"
