#!/bin/bash
# Init step 1 of the WordPress pod, run in the official `wordpress` image.
#
# The document root (/var/www/html) is an emptyDir, so WordPress core always
# comes from the pinned image tag (bumping the tag upgrades core); only
# wp-content is a PersistentVolume mounted at /var/www/html/wp-content.
# This does what the image's own entrypoint does before it starts Apache, but
# before the setup step needs the files:
#   * copy core from /usr/src/wordpress unless it is already there (a restarted
#     init container finds it in the emptyDir and copies nothing);
#   * never overwrite a plugin or theme directory that wp-content already has
#     (same rule as the image's entrypoint: a persisted plugin is not downgraded);
#   * write wp-config.php from the image's wp-config-docker.php, which reads
#     every setting (database, keys, salts) from WORDPRESS_* environment
#     variables at run time: no secret is ever written to disk here.
# Safe to run any number of times. Runs as www-data (uid 33), not root.
set -euo pipefail

src=${WORDPRESS_SOURCE:-/usr/src/wordpress}
dst=${WP_PATH:-/var/www/html}
cd "$dst"

if [ -e index.php ] && [ -e wp-includes/version.php ]; then
  echo "[copy-wordpress] WordPress core already in $dst"
else
  echo "[copy-wordpress] copying WordPress core from $src to $dst"
  source_args=(--create --file - --directory "$src")
  for path in "$src"/.htaccess "$src"/wp-content/*/*/; do
    path=${path%/}
    [ -e "$path" ] || continue
    rel=${path#"$src"/}
    if [ -e "$dst/$rel" ]; then
      echo "[copy-wordpress] keeping the existing $rel"
      source_args+=(--exclude "./$rel")
    fi
  done
  # --no-overwrite-dir: as a non-root user we may not chmod/utime the volume's
  # root directories; their contents are what matters.
  tar "${source_args[@]}" . | tar --extract --file - --no-overwrite-dir
fi

if [ -s wp-config.php ]; then
  echo "[copy-wordpress] wp-config.php present"
else
  echo "[copy-wordpress] writing wp-config.php (settings come from WORDPRESS_* variables)"
  cp "$src/wp-config-docker.php" wp-config.php
fi
