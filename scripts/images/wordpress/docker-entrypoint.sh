#!/bin/bash
# Entrypoint of the sandbox's WordPress image, the part of the official
# wordpress image's entrypoint that a pod started by the store chart relies
# on (the chart's copy-wordpress.sh init step has usually done it already):
# before Apache starts, WordPress core is copied from /usr/src/wordpress into
# an empty document root, and wp-config.php is written from
# wp-config-docker.php (which reads WORDPRESS_* at run time) when missing.
# Any other command runs as given.
set -Eeuo pipefail
if [[ "$1" == apache2* ]] || [ "$1" = php-fpm ]; then
  if [ ! -e index.php ] && [ ! -e wp-includes/version.php ]; then
    echo >&2 "WordPress not found in $PWD - copying now..."
    # Children by name, so the (volume) root keeps its owner and mode.
    (cd /usr/src/wordpress && shopt -s dotglob && tar --create --file - -- *) |
      tar --extract --file - --no-overwrite-dir
    echo >&2 "Complete! WordPress has been successfully copied to $PWD"
  fi
  if [ ! -s wp-config.php ] && compgen -e | grep -q '^WORDPRESS_'; then
    echo >&2 "wp-config.php not found: writing it from wp-config-docker.php (settings from WORDPRESS_* variables)"
    # Keys and salts not given as variables: unique random ones, as upstream.
    cp /usr/src/wordpress/wp-config-docker.php wp-config.php.tmp
    while grep -q 'put your unique phrase here' wp-config.php.tmp; do
      sed -i "0,/put your unique phrase here/s//$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')/" wp-config.php.tmp
    done
    mv wp-config.php.tmp wp-config.php
  fi
fi
exec "$@"
