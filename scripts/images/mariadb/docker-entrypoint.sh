#!/bin/bash
# Entrypoint of the sandbox's MariaDB image (scripts/build-images.sh): Debian's
# MariaDB server behind the contract of the official `mariadb` image that the
# store chart (charts/woocommerce, statefulset-mariadb.yaml) relies on:
#   * MARIADB_ROOT_PASSWORD (or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD /
#     MARIADB_RANDOM_ROOT_PASSWORD), MARIADB_DATABASE, MARIADB_USER,
#     MARIADB_PASSWORD, MARIADB_ROOT_HOST (default %), MARIADB_AUTO_UPGRADE;
#     each also as MYSQL_* and as *_FILE (the value read from that file);
#   * data in /var/lib/mysql: initialised on the first start (with an
#     initialisation server that does not listen on the network), kept after;
#   * /var/lib/mysql/.my-healthcheck.cnf: a `healthcheck` user's credentials
#     for healthcheck.sh;
#   * /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz run once at initialisation;
#   * the server runs as PID 1 (exec), so SIGTERM shuts InnoDB down cleanly.
# Not kept: time zone tables, the system-table backup before an upgrade,
# MARIADB_REPLICATION_*, Galera. No password is ever printed or put on a
# command line: SQL goes to the client on stdin, credentials in 0600 files.
set -euo pipefail
shopt -s nullglob

note() { printf '%s [Note] [Entrypoint]: %s\n' "$(date '+%F %T%:z')" "$*"; }
warn() { printf '%s [Warn] [Entrypoint]: %s\n' "$(date '+%F %T%:z')" "$*" >&2; }
die() { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date '+%F %T%:z')" "$*" >&2; exit 1; }

# VAR from VAR, VAR_FILE, or the MYSQL_ spelling of either; then the default.
file_env() { # name-suffix default
  local m="MARIADB_$1" o="MYSQL_$1" v=""
  if [ -n "${!m:-}" ]; then v=${!m}
  elif [ -n "$(printenv "${m}_FILE" || true)" ]; then v=$(<"$(printenv "${m}_FILE")")
  elif [ -n "${!o:-}" ]; then v=${!o}
  elif [ -n "$(printenv "${o}_FILE" || true)" ]; then v=$(<"$(printenv "${o}_FILE")")
  else v=${2:-}
  fi
  printf -v "$m" '%s' "$v"
}

# A string as the inside of a single-quoted SQL literal.
sql_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }

if [ "${1:0:1}" = - ]; then set -- mariadbd "$@"; fi
case "$1" in mariadbd | mysqld) ;; *) exec "$@" ;; esac
for a in "$@"; do
  case "$a" in -'?' | --help | --print-defaults | -V | --version) exec "$@" ;; esac
done

DATADIR=/var/lib/mysql SOCKET=/run/mysqld/mysqld.sock PORT=3306
for a in "$@"; do
  case "$a" in
    --datadir=*) DATADIR=${a#*=} ;;
    --socket=*) SOCKET=${a#*=} ;;
    --port=*) PORT=${a#*=} ;;
  esac
done

# Started as root (no securityContext): own the data and drop to mysql.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$DATADIR" "${SOCKET%/*}"
  chown mysql:mysql "$DATADIR" "${SOCKET%/*}"
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
mkdir -p "${SOCKET%/*}" 2>/dev/null || true
[ -w "$DATADIR" ] || die "$DATADIR is not writable by uid $(id -u) (a volume needs fsGroup $(id -g) or this owner)"
[ -w "${SOCKET%/*}" ] || die "${SOCKET%/*} is not writable by uid $(id -u)"

for v in ROOT_PASSWORD ROOT_PASSWORD_HASH ALLOW_EMPTY_ROOT_PASSWORD RANDOM_ROOT_PASSWORD \
  DATABASE USER PASSWORD PASSWORD_HASH AUTO_UPGRADE INITDB_SKIP_TZINFO; do
  file_env "$v"
done
file_env ROOT_HOST %

temp_pid=""
client_cnf="${SOCKET%/*}/.entrypoint-client.cnf"
cleanup() { rm -f "$client_cnf"; }
trap cleanup EXIT
# While this script is PID 1 (initialisation or upgrade), SIGTERM would be
# ignored: stop the temporary server and leave.
on_term() {
  warn "stopping on SIGTERM before the server started"
  if [ -n "$temp_pid" ]; then kill -TERM "$temp_pid" 2>/dev/null || true; wait "$temp_pid" || true; fi
  exit 143
}
trap on_term TERM INT

client() { # client over the socket, as root; credentials (if any) from $client_cnf
  local extra=()
  [ -f "$client_cnf" ] && extra=(--defaults-extra-file="$client_cnf")
  mariadb "${extra[@]}" --protocol=socket --socket="$SOCKET" -uroot --batch --skip-column-names "$@"
}

temp_server_start() { # extra server options
  mariadbd "$@" --datadir="$DATADIR" --skip-networking --socket="$SOCKET" --default-time-zone=SYSTEM \
    --wsrep_on=OFF --expire-logs-days=0 --skip-slave-start --skip-ssl \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
  temp_pid=$!
  local _
  for _ in $(seq 1 60); do
    if client --database=mysql -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
    kill -0 "$temp_pid" 2>/dev/null || die "the temporary server exited during start-up (its log is above)"
    sleep 1
  done
  die "the temporary server did not accept connections on $SOCKET within 60 s"
}

temp_server_stop() {
  client -e 'SHUTDOWN' >/dev/null 2>&1 || kill -TERM "$temp_pid"
  wait "$temp_pid" || die "the temporary server did not shut down cleanly"
  temp_pid=""
}

server_version() { mariadbd --version | sed -E 's/.*Ver ([0-9]+\.[0-9]+\.[0-9]+).*/\1/'; }

initialise() {
  if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD_HASH" ] &&
    [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    die "Database is uninitialized and password option is not specified. You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
  fi
  [ "$MARIADB_USER" != root ] || die "MARIADB_USER=root is refused: root is configured by MARIADB_ROOT_PASSWORD"
  if [ -z "$MARIADB_USER" ] && { [ -n "$MARIADB_PASSWORD" ] || [ -n "$MARIADB_PASSWORD_HASH" ]; }; then
    warn "MARIADB_PASSWORD is set but MARIADB_USER is not: no user is created"
  fi

  # A marker for an initialisation still under way: one that was interrupted
  # (pod deleted, node lost) is started over instead of being taken for done.
  local marker="$DATADIR/.sandbox-init-incomplete"
  if [ -e "$marker" ]; then
    warn "an earlier initialisation of $DATADIR did not finish: starting it over"
    find "$DATADIR" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +
  fi
  : >"$marker"
  note "Initializing database files"
  mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --default-time-zone=SYSTEM --enforce-storage-engine= \
    --skip-log-bin --expire-logs-days=0 --loose-innodb_buffer_pool_load_at_startup=0 \
    --loose-innodb_buffer_pool_dump_at_shutdown=0 >/dev/null
  note "Database files initialized"

  note "Starting temporary server"
  temp_server_start
  note "Temporary server started"

  local root_pw="$MARIADB_ROOT_PASSWORD"
  if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    root_pw=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | cut -c1-32)
    note "GENERATED ROOT PASSWORD: not printed (this image never prints a password; set MARIADB_ROOT_PASSWORD to know it)"
  fi
  local root_set=""
  if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ]; then
    root_set="SET PASSWORD FOR 'root'@'localhost'= '$(sql_escape "$MARIADB_ROOT_PASSWORD_HASH")';"
  elif [ -n "$root_pw" ]; then
    root_set="SET PASSWORD FOR 'root'@'localhost'= PASSWORD('$(sql_escape "$root_pw")');"
  fi
  local root_create=""
  if [ -n "$MARIADB_ROOT_HOST" ] && [ "$MARIADB_ROOT_HOST" != localhost ]; then
    local host; host=$(sql_escape "$MARIADB_ROOT_HOST")
    local ident
    ident="IDENTIFIED BY '$(sql_escape "$root_pw")'"
    [ -z "$MARIADB_ROOT_PASSWORD_HASH" ] || ident="IDENTIFIED BY PASSWORD '$(sql_escape "$MARIADB_ROOT_PASSWORD_HASH")'"
    root_create="CREATE USER 'root'@'$host' $ident;
GRANT ALL ON *.* TO 'root'@'$host' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'$host' WITH GRANT OPTION;"
  fi
  local hc_pw; hc_pw=$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | cut -c1-32)
  local db="" user=""
  if [ -n "$MARIADB_DATABASE" ]; then
    db="CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE//\`/\`\`}\`;"
  fi
  if [ -n "$MARIADB_USER" ]; then
    local uident
    uident="IDENTIFIED BY '$(sql_escape "$MARIADB_PASSWORD")'"
    [ -z "$MARIADB_PASSWORD_HASH" ] || uident="IDENTIFIED BY PASSWORD '$(sql_escape "$MARIADB_PASSWORD_HASH")'"
    user="CREATE USER '$(sql_escape "$MARIADB_USER")'@'%' $uident;"
    [ -z "$MARIADB_DATABASE" ] ||
      user+=" GRANT ALL ON \`${MARIADB_DATABASE//\`/\`\`}\`.* TO '$(sql_escape "$MARIADB_USER")'@'%';"
  fi
  note "Securing system users and creating the database and user"
  client --database=mysql --binary-mode <<SQL
SET @@SESSION.SQL_LOG_BIN=0;
SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname,'\'');
$root_set
$root_create
CREATE USER healthcheck@'127.0.0.1' IDENTIFIED BY '$hc_pw', healthcheck@'::1' IDENTIFIED BY '$hc_pw', healthcheck@localhost IDENTIFIED BY '$hc_pw';
GRANT USAGE ON *.* TO healthcheck@'127.0.0.1', healthcheck@'::1', healthcheck@localhost;
$db
$user
FLUSH PRIVILEGES;
SQL
  (umask 077 && printf '[mariadb-client]\nport=%s\nsocket=%s\nuser=healthcheck\npassword=%s\n' \
    "$PORT" "$SOCKET" "$hc_pw" >"$DATADIR/.my-healthcheck.cnf")
  if [ -n "$root_pw" ]; then
    (umask 077 && printf '[client]\npassword="%s"\n' "${root_pw//\"/\\\"}" >"$client_cnf")
  fi

  local f
  for f in /docker-entrypoint-initdb.d/*; do
    # shellcheck disable=SC1090 # the image user's own scripts
    case "$f" in
      *.sh) note "$0: running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) note "$0: running $f"; client ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} <"$f" ;;
      *.sql.gz) note "$0: running $f"; gunzip -c "$f" | client ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} ;;
      *) note "$0: ignoring $f" ;;
    esac
  done

  note "Stopping temporary server"
  temp_server_stop
  rm -f "$client_cnf"
  server_version >"$DATADIR/mysql_upgrade_info"
  rm -f "$marker"
  note "MariaDB init process done. Ready for start up."
}

upgrade_if_needed() {
  local have want; want=$(server_version)
  have=$(sed -E 's/^([0-9]+\.[0-9]+\.[0-9]+).*/\1/' "$DATADIR/mysql_upgrade_info" 2>/dev/null || true)
  if [ "$have" = "$want" ]; then
    note "MariaDB upgrade not required"
    return 0
  fi
  if [ -z "$MARIADB_AUTO_UPGRADE" ]; then
    warn "MariaDB upgrade information missing or different (${have:-none} -> $want): set MARIADB_AUTO_UPGRADE=1 to upgrade the system tables on start"
    return 0
  fi
  note "MariaDB upgrade required (${have:-none} -> $want): running mariadb-upgrade (the system tables are not backed up first: this image does not keep that step)"
  temp_server_start --skip-grant-tables
  mariadb-upgrade --protocol=socket --socket="$SOCKET" -uroot --upgrade-system-tables
  temp_server_stop
  server_version >"$DATADIR/mysql_upgrade_info"
  note "MariaDB upgrade complete"
}

if [ -d "$DATADIR/mysql" ] && [ ! -e "$DATADIR/.sandbox-init-incomplete" ]; then
  note "Database in $DATADIR already initialized: keeping it"
  upgrade_if_needed
else
  initialise
fi

trap - TERM INT EXIT
note "Starting the server (port $PORT)"
exec "$@"
