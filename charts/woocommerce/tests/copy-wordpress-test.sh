#!/usr/bin/env bash
# Runs files/copy-wordpress.sh with the real tar, as www-data (uid 33), on a
# document root and a wp-content mount laid out the way the kubelet leaves
# them with `fsGroup: 33`: owned by root, group 33, mode 2777. The script may
# not chmod/utime those roots (only their owner could), so archiving `.` or
# `wp-content` itself makes tar exit 2 before wp-config.php is written, and
# every new pod starts with a failed init container. Proves: the first run
# exits 0 and writes everything, the roots are left as they were, persisted
# plugins are kept, the platform's mu-plugin is installed, and a second run
# copies nothing.
# Needs root (to lay out root-owned roots and to drop to uid 33 with setpriv).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHART=$(cd "$HERE/.." && pwd)
COPY="$CHART/files/copy-wordpress.sh"
MU_PLUGIN="$CHART/files/store-weaver-mu.php"
[ "$(id -u)" = 0 ] || { echo "copy-wordpress-test: must run as root (it lays out root-owned volume roots and runs the script as uid 33)" >&2; exit 1; }
command -v setpriv >/dev/null || { echo "copy-wordpress-test: setpriv (util-linux) is missing" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/copy-wordpress-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 0755 "$WORK"

PASSED=0
FAILED=0
OUT=""
fail() { printf 'FAIL: %s\n' "$*" >&2; FAILED=$((FAILED + 1)); }
pass() { printf 'ok   %s\n' "$*"; PASSED=$((PASSED + 1)); }
check() { # description command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; printf '%s\n' "--- output:" "$OUT" >&2; fi
}

# The image's /usr/src/wordpress: owned by www-data, wp-content 0777 (the
# image's Dockerfile does chmod -R 1777 on its wp-content skeleton).
SRC="$WORK/usr-src-wordpress"
mkdir -p "$SRC/wp-includes" "$SRC/wp-admin" "$SRC/wp-content/plugins/akismet" \
  "$SRC/wp-content/themes/twentytwentyfive"
echo '<?php // core' >"$SRC/index.php"
# shellcheck disable=SC2016
echo '<?php $wp_version = "6.8.3";' >"$SRC/wp-includes/version.php"
echo '<?php // admin' >"$SRC/wp-admin/index.php"
echo '<?php // Silence is golden.' >"$SRC/wp-content/index.php"
echo 'image akismet' >"$SRC/wp-content/plugins/akismet/akismet.php"
echo 'image theme' >"$SRC/wp-content/themes/twentytwentyfive/style.css"
echo '# BEGIN WordPress' >"$SRC/.htaccess"
echo '<?php // reads WORDPRESS_* variables' >"$SRC/wp-config-docker.php"
chown -R 33:33 "$SRC"
chmod 0777 "$SRC" "$SRC/wp-content"

# The pod's volumes as the kubelet hands them over: the emptyDir document root
# and the wp-content claim's root, root-owned, group 33 (fsGroup), setgid, 2777.
DST="$WORK/html"
mkdir -p "$DST/wp-content"
chown root:33 "$DST" "$DST/wp-content"
chmod 2777 "$DST" "$DST/wp-content"

SETUP_DIR="$WORK/opt-store-weaver"
mkdir -p "$SETUP_DIR"
cp "$MU_PLUGIN" "$SETUP_DIR/store-weaver-mu.php"
chmod -R a+rX "$SETUP_DIR"

as_www_data() { # -> exit code in $RC, output in $OUT
  set +e
  OUT=$(setpriv --reuid=33 --regid=33 --groups=33 -- \
    env -i PATH=/usr/bin:/bin HOME=/tmp WORDPRESS_SOURCE="$SRC" WP_PATH="$DST" \
    STORE_WEAVER_FILES="$SETUP_DIR" bash "$COPY" 2>&1)
  RC=$?
  set -e
}
mode_owner() { stat -c '%a %U:%g' "$1"; }
tree_state() { (cd "$DST" && find . -printf '%p %s %T@ %m %u\n' | sort); }

echo "== copy-wordpress.sh as uid 33 with $(tar --version | head -1)"

# 1. A new pod: empty volumes.
as_www_data
check "first run: exits 0" test "$RC" = 0
no_tar_error() { ! grep -qi 'tar:' <<<"$OUT"; }
check "first run: no tar error" no_tar_error
check "first run: wp-config.php written" cmp -s "$SRC/wp-config-docker.php" "$DST/wp-config.php"
check "first run: core copied" test -s "$DST/index.php" -a -s "$DST/wp-includes/version.php" -a -s "$DST/wp-admin/index.php"
check "first run: hidden files copied (.htaccess)" test -s "$DST/.htaccess"
check "first run: wp-content skeleton copied" test -s "$DST/wp-content/index.php"
check "first run: bundled plugin copied" test -s "$DST/wp-content/plugins/akismet/akismet.php"
check "first run: bundled theme copied" test -s "$DST/wp-content/themes/twentytwentyfive/style.css"
check "first run: the platform mu-plugin installed" cmp -s "$MU_PLUGIN" "$DST/wp-content/mu-plugins/store-weaver.php"
check "first run: files belong to www-data" test "$(stat -c %u "$DST/index.php")" = 33
check "first run: the document root is left as the kubelet made it" test "$(mode_owner "$DST")" = "2777 root:33"
check "first run: the wp-content root is left as the kubelet made it" test "$(mode_owner "$DST/wp-content")" = "2777 root:33"

# 2. The init container restarts (or the pod restarts with the same emptyDir):
#    nothing is copied again.
before=$(tree_state)
echo '<?php // a newer core in the image' >"$SRC/index.php"
as_www_data
check "second run: exits 0" test "$RC" = 0
check "second run: says core is there" grep -q 'already in' <<<"$OUT"
check "second run: copies nothing" test "$before" = "$(tree_state)"

# 3. A new pod of an existing store: a fresh emptyDir, the wp-content claim
#    keeps the merchant's files, a persisted plugin is never overwritten.
rm -rf "$DST"
mkdir -p "$DST/wp-content/plugins/akismet" "$DST/wp-content/uploads"
echo 'persisted akismet 5.5' >"$DST/wp-content/plugins/akismet/akismet.php"
echo 'a merchant upload' >"$DST/wp-content/uploads/logo.png"
chown -R 33:33 "$DST/wp-content/plugins" "$DST/wp-content/uploads"
chown root:33 "$DST" "$DST/wp-content"
chmod 2777 "$DST" "$DST/wp-content"
as_www_data
check "new pod, old claim: exits 0" test "$RC" = 0
check "new pod, old claim: persisted plugin kept" test "$(cat "$DST/wp-content/plugins/akismet/akismet.php")" = "persisted akismet 5.5"
check "new pod, old claim: says it kept it" grep -q 'keeping the existing wp-content/plugins/akismet' <<<"$OUT"
check "new pod, old claim: uploads kept" test -s "$DST/wp-content/uploads/logo.png"
check "new pod, old claim: core from the (newer) image" grep -q 'newer core' "$DST/index.php"
check "new pod, old claim: wp-config.php written" test -s "$DST/wp-config.php"
check "new pod, old claim: roots untouched" test "$(mode_owner "$DST/wp-content")" = "2777 root:33"

# 4. The mu-plugin is the platform's: a changed or deleted copy comes back.
echo '<?php // edited' >"$DST/wp-content/mu-plugins/store-weaver.php"
as_www_data
check "edited mu-plugin: restored" cmp -s "$MU_PLUGIN" "$DST/wp-content/mu-plugins/store-weaver.php"

echo "copy-wordpress-test: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
