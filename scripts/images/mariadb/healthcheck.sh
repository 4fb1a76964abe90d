#!/bin/bash
# healthcheck.sh of the sandbox's MariaDB image: the tests of the official
# image's healthcheck.sh that the store chart's probes use, same names and
# meaning. Signs in with the credentials docker-entrypoint.sh wrote to
# <datadir>/.my-healthcheck.cnf. Exit 0 when every test passes.
#   --connect               a TCP connection to the server can be made (fails
#                           while the networkless initialisation server runs)
#   --innodb_initialized    InnoDB is up
#   --innodb_buffer_pool_loaded  the buffer pool dump has been loaded
# Options: --datadir=DIR, --defaults-file=F, --defaults-extra-file=F,
# --defaults-group-suffix=S, --no-defaults, --su-mysql / --su=USER (accepted;
# this image runs as mysql already).
set -uo pipefail

datadir=/var/lib/mysql
defaults=() nodefaults=""
tests=()
for a in "$@"; do
  case "$a" in
    --datadir=*) datadir=${a#*=} ;;
    --defaults-file=* | --defaults-extra-file=* | --defaults-group-suffix=*) defaults+=("$a") ;;
    --no-defaults) nodefaults=1 ;;
    --su-mysql | --su=*) ;;
    --connect | --innodb_initialized | --innodb_buffer_pool_loaded) tests+=("$a") ;;
    *) echo "healthcheck.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
if [ -z "$nodefaults" ] && [ ${#defaults[@]} -eq 0 ] && [ -r "$datadir/.my-healthcheck.cnf" ]; then
  defaults=(--defaults-extra-file="$datadir/.my-healthcheck.cnf")
fi
[ -n "$nodefaults" ] && defaults=(--no-defaults)

sql() { mariadb "${defaults[@]}" --batch --skip-column-names "$@"; }

for t in "${tests[@]}"; do
  case "$t" in
    --connect)
      # Connected unless the client could not reach the server at all (an
      # access error still proves the server listens), as upstream does; by
      # address, so a missing /etc/hosts cannot make it pass or fail.
      out=$(sql -h 127.0.0.1 --protocol=tcp --skip-ssl -e 'SELECT 1' 2>&1)
      if grep -qE "Can't connect|Unknown server host|Lost connection" <<<"$out"; then
        echo "healthcheck connect failed" >&2
        exit 1
      fi
      ;;
    --innodb_initialized)
      out=$(sql -e "SELECT 1 FROM information_schema.ENGINES WHERE engine='innodb' AND support IN ('YES', 'DEFAULT', 'ENABLED')" 2>&1)
      if [ "$out" != 1 ]; then
        echo "healthcheck innodb_initialized failed" >&2
        exit 1
      fi
      ;;
    --innodb_buffer_pool_loaded)
      out=$(sql -e "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='Innodb_buffer_pool_load_status'" 2>&1)
      case "$out" in *"load completed"* | "") ;; *)
        echo "healthcheck innodb_buffer_pool_loaded failed" >&2
        exit 1
        ;;
      esac
      ;;
  esac
done
exit 0
