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
#     variables at run time: no secret is ever written to disk here;
#   * install the platform's must-use plugin (files/store-weaver-mu.php).
# Safe to run any number of times. Runs as www-data (uid 33), not root.
set -euo pipefail

src=${WORDPRESS_SOURCE:-/usr/src/wordpress}
dst=${WP_PATH:-/var/www/html}
cd "$dst"

if [ -e index.php ] && [ -e wp-includes/version.php ]; then
  echo "[copy-wordpress] WordPress core already in $dst"
else
  echo "[copy-wordpress] copying WordPress core from $src to $dst"
  # Archive the children by name, never `.` nor `wp-content` itself: those are
  # the volume roots (root-owned, group 33, mode 2777 from fsGroup), and tar
  # restoring their mode as uid 33 fails ("Cannot change mode ... Operation not
  # permitted") and exits 2, even with --no-overwrite-dir.
  shopt -s dotglob nullglob
  members=()
  for path in "$src"/*; do
    name=${path##*/}
    [ "$name" = wp-content ] && continue
    # The image's .htaccess, unless one is already there.
    if [ "$name" = .htaccess ] && [ -e "$dst/.htaccess" ]; then continue; fi
    members+=("$name")
  done
  for path in "$src"/wp-content/*; do members+=("wp-content/${path##*/}"); done
  [ ${#members[@]} -gt 0 ] || { echo "[copy-wordpress] error: $src is empty" >&2; exit 1; }
  excludes=()
  for path in "$src"/wp-content/*/*/; do
    rel=${path%/}
    rel=${rel#"$src"/}
    if [ -e "$dst/$rel" ]; then
      echo "[copy-wordpress] keeping the existing $rel"
      excludes+=(--exclude "$rel")
    fi
  done
  shopt -u dotglob nullglob
  # --anchored: an exclusion names a path from the archive's root, nothing else.
  # --no-overwrite-dir: directories that exist keep their owner and mode.
  tar --create --file - --directory "$src" --anchored "${excludes[@]}" -- "${members[@]}" |
    tar --extract --file - --no-overwrite-dir
fi

if [ -s wp-config.php ]; then
  echo "[copy-wordpress] wp-config.php present"
else
  echo "[copy-wordpress] writing wp-config.php (settings come from WORDPRESS_* variables)"
  cp "$src/wp-config-docker.php" wp-config.php
fi

# The platform's must-use plugin (loopback cron, mail, fonts): owned by the
# chart, so a changed or deleted copy is put back at every pod start.
mu_src="${STORE_WEAVER_FILES:-/opt/store-weaver}/store-weaver-mu.php"
mu_dst=wp-content/mu-plugins/store-weaver.php
if [ -s "$mu_src" ]; then
  if cmp -s "$mu_src" "$mu_dst"; then
    echo "[copy-wordpress] mu-plugin $mu_dst current"
  else
    echo "[copy-wordpress] installing the mu-plugin $mu_dst"
    mkdir -p wp-content/mu-plugins
    cp "$mu_src" "$mu_dst.tmp"
    mv -f "$mu_dst.tmp" "$mu_dst"
  fi
else
  echo "[copy-wordpress] error: $mu_src is missing (the chart's ConfigMap mounts it)" >&2
  exit 1
fi
