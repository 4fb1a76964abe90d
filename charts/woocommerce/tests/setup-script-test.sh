#!/usr/bin/env bash
# Tests the store chart's two init scripts without a cluster or containers:
#   files/setup-store.sh   against a fake `wp` and `php` on PATH that keep a
#                          little WordPress state in files and record each call;
#   files/copy-wordpress.sh against a fake /usr/src/wordpress tree.
# What it proves: a fresh store gets every step; a second run with "already
# done" answers only reads; merchant-owned defaults are not re-applied once
# recorded; platform invariants are; failures exit non-zero; the admin
# password never appears on a command line.
# Runs the setup script under every POSIX shell found (dash, bash, busybox).
# Exits non-zero on the first failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHART=$(cd "$HERE/.." && pwd)
SETUP="$CHART/files/setup-store.sh"
COPY="$CHART/files/copy-wordpress.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/setup-script-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
fail() { printf 'FAIL: %s\n' "$*" >&2; FAILED=$((FAILED + 1)); }
pass() { printf 'ok   %s\n' "$*"; PASSED=$((PASSED + 1)); }

# --------------------------------------------------------------------- fakes
mkdir -p "$WORK/bin"
cat >"$WORK/bin/wp" <<'FAKE'
#!/usr/bin/env bash
# A fake wp-cli: state in $FAKE_STATE, one line per call in $FAKE_STATE/calls.log.
set -uo pipefail
S=${FAKE_STATE:?}
mkdir -p "$S/options" "$S/plugins" "$S/themes" "$S/posts" "$S/products" "$S/shipping0"
printf '%s\n' "$*" >>"$S/calls.log"
[ -e "$S/fail-on" ] && [[ "$*" == $(cat "$S/fail-on")* ]] && { echo "Error: injected failure" >&2; exit 1; }
optfile() { printf '%s/options/%s' "$S" "$1"; }
installed() { [ -e "$S/installed" ]; }
need_installed() { installed || { echo "Error: The site you have requested is not installed." >&2; exit 1; }; }
arg() { # --name=value from the remaining arguments
  local name=$1; shift
  local a; for a in "$@"; do case "$a" in "--$name="*) printf '%s' "${a#--"$name"=}"; return 0 ;; esac; done
  return 1
}
case "$1 ${2:-}" in
  "core is-installed") installed; exit ;;
  "core install")
    shift 2
    [[ " $* " == *" --prompt=admin_password "* ]] || { echo "fake: expected --prompt=admin_password" >&2; exit 2; }
    IFS= read -r pw || true
    printf '%s' "$pw" >"$S/admin-password-from-stdin"
    # What wp-cli 2.12 does with --prompt: it prints the command it ran, the
    # prompted value included, on stdout.
    printf "wp core install %s --admin_password='%s'\n" "$*" "$pw"
    touch "$S/installed"
    # WordPress's sample content: post 1 with comment 1, page 2; blog front page.
    printf publish >"$S/posts/1"; printf post >"$S/posts/1.type"; printf hello-world >"$S/posts/1.name"
    printf publish >"$S/posts/2"; printf page >"$S/posts/2.type"; printf sample-page >"$S/posts/2.name"
    mkdir -p "$S/comments"; printf 1 >"$S/comments/1"
    printf posts >"$(optfile show_on_front)"; printf 0 >"$(optfile page_on_front)"
    arg url "$@" >"$(optfile home)"; arg url "$@" >"$(optfile siteurl)"
    arg title "$@" >"$(optfile blogname)"
    cat "$S/wp_db_version" >"$(optfile db_version)"
    printf 'twentytwentyfive' >"$(optfile stylesheet)"
    mkdir -p "$S/users"; printf '$wp$2y$10$hash' >"$S/users/$(arg admin_user "$@").pass"
    printf '' >"$(optfile permalink_structure)"
    echo "Success: WordPress installed successfully." ;;
  "core update-db") need_installed; cat "$S/wp_db_version" >"$(optfile db_version)"; echo "Success: updated." ;;
  "eval "*) need_installed; cat "$S/wp_db_version" ;;
  "option get")
    need_installed
    [ -e "$(optfile "$3")" ] || { echo "Error: Could not get '$3' option. Does it exist?" >&2; exit 1; }
    cat "$(optfile "$3")"; echo ;;
  "option update") need_installed; printf '%s' "$4" >"$(optfile "$3")"; echo "Success: Updated '$3' option." ;;
  "option pluck")
    need_installed
    [ -e "$(optfile "$3.$4")" ] || { echo "Error: No data exists for key" >&2; exit 1; }
    cat "$(optfile "$3.$4")"; echo ;;
  "plugin is-installed") [ -e "$S/plugins/$3.installed" ]; exit ;;
  "plugin is-active") need_installed; [ -e "$S/plugins/$3.active" ]; exit ;;
  "plugin install") touch "$S/plugins/$3.installed"; echo "Plugin installed successfully." ;;
  "plugin activate") need_installed; [ -e "$S/plugins/$3.installed" ] || exit 1; touch "$S/plugins/$3.active" ;;
  "theme is-installed") [ -e "$S/themes/$3.installed" ]; exit ;;
  "theme install") touch "$S/themes/$3.installed" ;;
  "theme activate") need_installed; [ -e "$S/themes/$3.installed" ] || exit 1; printf '%s' "$3" >"$(optfile stylesheet)" ;;
  "post get") need_installed; [ -e "$S/posts/$3" ] || exit 1; cat "$S/posts/$3"; echo ;;
  "post list")
    need_installed
    [ "$(arg field "$@")" = ID ] || exit 2
    type=$(arg post_type "$@") || exit 2; name=$(arg name "$@") || exit 2
    for f in "$S"/posts/*.type; do
      [ -e "$f" ] || continue; id=$(basename "$f" .type)
      [ "$(cat "$f")" = "$type" ] && [ "$(cat "$S/posts/$id.name")" = "$name" ] && echo "$id"
    done
    exit 0 ;;
  "post delete")
    need_installed; [ "${4:-}" = --force ] || exit 2; [ -e "$S/posts/$3" ] || exit 1
    rm -f "$S/posts/$3" "$S/posts/$3".*
    grep -lx "$3" "$S"/comments/* 2>/dev/null | xargs -r rm -f
    echo "Success: Deleted post $3." ;;
  "user get")
    need_installed
    [ "$(arg field "$@")" = user_pass ] || exit 2
    [ -e "$S/users/$3.pass" ] || { echo "Error: Invalid user ID, email or login: '$3'" >&2; exit 1; }
    cat "$S/users/$3.pass"; echo ;;
  "user update")
    need_installed
    [[ " $* " == *" --prompt=user_pass "* ]] || { echo "fake: expected --prompt=user_pass" >&2; exit 2; }
    [ -e "$S/users/$3.pass" ] || exit 1
    IFS= read -r pw || true
    printf '%s' "$pw" >"$S/users/$3.pass-from-stdin"
    printf "wp user update %s --user_pass='%s'\n" "$3" "$pw"
    printf '$wp$2y$10$new' >"$S/users/$3.pass"
    echo "Success: Updated user $3." ;;
  "rewrite structure") need_installed; printf '%s' "$3" >"$(optfile permalink_structure)" ;;
  "wc tool")
    need_installed; [ -e "$S/plugins/woocommerce.active" ] || exit 1
    [ "$3 $4" = "run install_pages" ] || exit 2
    id=10; for p in shop cart checkout myaccount; do
      printf publish >"$S/posts/$id"; printf page >"$S/posts/$id.type"; printf '%s' "$p" >"$S/posts/$id.name"
      printf '%s' "$id" >"$(optfile "woocommerce_${p}_page_id")"; id=$((id + 1)); done ;;
  "wc payment_gateway")
    need_installed; [ "$3 $4 $5" = "update cod --enabled=true" ] || exit 2
    printf yes >"$(optfile woocommerce_cod_settings.enabled)" ;;
  "wc shipping_zone_method")
    need_installed
    case "$3" in
      list) [ "$4" = 0 ] || exit 2; cat "$S/shipping0/"* 2>/dev/null; exit 0 ;;
      create) [ "$4" = 0 ] || exit 2; m=$(arg method_id "$@"); printf '%s\n' "$m" >"$S/shipping0/$m" ;;
      *) exit 2 ;;
    esac ;;
  "wc product")
    need_installed
    case "$3" in
      list) sku=$(arg sku "$@"); [ -e "$S/products/$sku" ] && cat "$S/products/$sku"; exit 0 ;;
      create)
        sku=$(arg sku "$@"); [ -e "$S/products/$sku" ] && { echo "Error: duplicated SKU" >&2; exit 1; }
        n=$(ls "$S/products" | wc -l); printf '%s\n' "$((100 + n))" >"$S/products/$sku"
        { arg name "$@"; echo; } >"$S/products/$sku.name" ;;
      *) exit 2 ;;
    esac ;;
  *) echo "fake wp: unexpected call: $*" >&2; echo "UNEXPECTED $*" >>"$S/unexpected.log"; exit 2 ;;
esac
exit 0
FAKE
cat >"$WORK/bin/php" <<'FAKE'
#!/usr/bin/env bash
# A fake php: only the database probe. $FAKE_STATE/db-down holds how many more
# probes fail ("forever" for all of them).
S=${FAKE_STATE:?}
printf 'php %s\n' "${1:-}" >>"$S/php.log"
[ "${1:-}" = -r ] || exit 2
if [ -e "$S/db-down" ]; then
  left=$(cat "$S/db-down")
  [ "$left" = forever ] && exit 1
  if [ "$left" -gt 0 ]; then echo $((left - 1)) >"$S/db-down"; exit 1; fi
fi
exit 0
FAKE
chmod +x "$WORK/bin/wp" "$WORK/bin/php"

cat >"$WORK/products.txt" <<'EOF'
# sku|price|name|description
SW-MUG|12.50|Weaver Mug|A mug, with a | in the description
SW-CAP|16.00|Weaver Cap|A cap
SW-TOTE|9.90|Canvas Tote|No newline at the end of this line
EOF
printf '%s' "$(cat "$WORK/products.txt")" >"$WORK/products.txt" # drop the final newline

SECRET_PW='s3cret-Pa55 word'
MUTATING='^(core install|core update-db|user update|option update|plugin install|plugin activate|theme install|theme activate|wc tool run|wc payment_gateway update|wc shipping_zone_method create|wc product create|rewrite structure|post delete)'

new_state() { # -> fresh fake WordPress (nothing installed) in $STATE
  STATE=$(mktemp -d "$WORK/state.XXXXXX")
  mkdir -p "$STATE/html" "$STATE/wp-cli"
  echo 57155 >"$STATE/wp_db_version"
}

run_setup() { # shell [VAR=value...] -> exit code in $RC, output in $OUT
  local shell=$1; shift
  : >"$STATE/calls.log"
  set +e
  # shellcheck disable=SC2086
  OUT=$(env -i PATH="$WORK/bin:/usr/bin:/bin" FAKE_STATE="$STATE" \
    WP_PATH="$STATE/html" STORE_URL="http://demo.localhost" STORE_TITLE="Demo Store" \
    ADMIN_USER=admin ADMIN_EMAIL=admin@demo.localhost ADMIN_PASSWORD="$SECRET_PW" \
    WORDPRESS_DB_HOST=db:3306 DB_WAIT_INTERVAL=0 DB_WAIT_SECONDS=5 \
    STORE_CURRENCY=EUR STORE_COUNTRY=FR PRODUCTS_FILE="$WORK/products.txt" \
    WP_CLI_EXPORT_DIR="$STATE/wp-cli" \
    "$@" $shell "$SETUP" 2>&1) # $shell unquoted: "busybox sh" is two words
  RC=$?
  set -e
}

mutations() { grep -E "$MUTATING" "$STATE/calls.log" || true; }
has_call() { grep -qE "$1" "$STATE/calls.log"; }
opt_is() { [ "$(cat "$STATE/options/$1" 2>/dev/null)" = "$2" ]; }

check() { # description command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; printf '%s\n' "--- output:" "$OUT" "--- calls:" >&2; cat "$STATE/calls.log" >&2 || true; fi
}
not_in_output() { ! grep -qF -- "$1" <<<"$OUT"; }
no_unexpected() { [ ! -s "$STATE/unexpected.log" ]; }

shells=(sh bash)
command -v busybox >/dev/null && shells+=("busybox sh")
command -v dash >/dev/null && [ "$(readlink -f "$(command -v sh)")" != "$(readlink -f "$(command -v dash)")" ] && shells+=(dash)

for shell in "${shells[@]}"; do
  echo "== setup-store.sh under: $shell"

  # 1. A fresh store gets every step.
  new_state
  run_setup "$shell"
  check "[$shell] fresh store: exits 0" test "$RC" = 0
  check "[$shell] fresh store: no call the fake does not know" no_unexpected
  for step in 'core install' 'plugin install woocommerce$' 'plugin activate woocommerce' \
    'theme install storefront' 'theme activate storefront' 'wc tool run install_pages --user=admin' \
    'option update woocommerce_coming_soon no' 'wc payment_gateway update cod --enabled=true --user=admin' \
    'wc shipping_zone_method create 0 --method_id=free_shipping' 'wc product create --sku=SW-MUG' \
    'wc product create --sku=SW-CAP' 'wc product create --sku=SW-TOTE' 'rewrite structure /%postname%/' \
    'option update store_weaver_defaults 2' 'option update woocommerce_currency EUR' \
    'option update page_on_front 10' 'option update show_on_front page' 'post delete 1 --force' \
    'post delete 2 --force'; do
    check "[$shell] fresh store: ran '$step'" has_call "^$step"
  done
  check "[$shell] fresh store: the comment line made no product" test ! -e "$STATE/products/#"
  check "[$shell] fresh store: a | in a description is kept" \
    grep -q -- '--description=A mug, with a | in the description' "$STATE/calls.log"
  check "[$shell] fresh store: admin password given on stdin" test "$(cat "$STATE/admin-password-from-stdin")" = "$SECRET_PW"
  check "[$shell] fresh store: admin password on no command line" bash -c "! grep -qF -- '$SECRET_PW' '$STATE/calls.log'"
  check "[$shell] fresh store: admin password not in the output (the container log)" not_in_output "$SECRET_PW"
  check "[$shell] fresh store: the install is still reported" grep -q 'ok: WordPress installed (admin user admin)' <<<"$OUT"
  check "[$shell] fresh store: opens on the shop" bash -c "[ \"\$(cat '$STATE/options/show_on_front')\" = page ] && [ \"\$(cat '$STATE/options/page_on_front')\" = 10 ]"
  check "[$shell] fresh store: sample post, page and comment gone" test ! -e "$STATE/posts/1" -a ! -e "$STATE/posts/2" -a ! -e "$STATE/comments/1"
  check "[$shell] fresh store: the WooCommerce pages stay" test -e "$STATE/posts/10" -a -e "$STATE/posts/13"
  check "[$shell] fresh store: core install used the store URL" has_call '^core install --url=http://demo.localhost --title=Demo Store'
  check "[$shell] fresh store: wp-cli exported for the app container" test -s "$STATE/wp-cli/wp"
  check "[$shell] fresh store: coming soon off" opt_is woocommerce_coming_soon no
  check "[$shell] fresh store: cash on delivery on" opt_is woocommerce_cod_settings.enabled yes

  # 1b. A clone: its database came with the source's admin, password
  #     blanked by Store Weaver; the admin takes this store's own, on stdin.
  printf '' >"$STATE/users/admin.pass"
  run_setup "$shell"
  check "[$shell] clone: exits 0" test "$RC" = 0
  check "[$shell] clone: the admin's password set" has_call '^user update admin --prompt=user_pass'
  check "[$shell] clone: from the Secret, on stdin" test "$(cat "$STATE/users/admin.pass-from-stdin")" = "$SECRET_PW"
  check "[$shell] clone: on no command line" bash -c "! grep -qF -- '$SECRET_PW' '$STATE/calls.log'"
  check "[$shell] clone: not in the output" not_in_output "$SECRET_PW"
  check "[$shell] clone: nothing else changed" test "$(mutations | tr '\n' ';')" = "user update admin --prompt=user_pass;"

  # 2. A second run with everything in place only reads.
  run_setup "$shell"
  check "[$shell] second run: exits 0" test "$RC" = 0
  check "[$shell] second run: changes nothing" test -z "$(mutations)"
  check "[$shell] second run: reports the defaults as applied earlier" grep -q 'first-run defaults applied earlier' <<<"$OUT"

  # 3. Merchant-owned settings changed after setup stay changed.
  printf 'yes' >"$STATE/options/woocommerce_coming_soon"
  printf 'my-theme' >"$STATE/options/stylesheet"
  rm -f "$STATE/options/woocommerce_cod_settings.enabled"
  run_setup "$shell"
  check "[$shell] merchant's changes: exits 0" test "$RC" = 0
  check "[$shell] merchant's changes: left alone" test -z "$(mutations)"
  check "[$shell] merchant's changes: coming soon still as the merchant set it" opt_is woocommerce_coming_soon yes

  # 4. Platform invariants are restored on every start.
  rm -f "$STATE/plugins/woocommerce.active"
  run_setup "$shell" STORE_URL=http://renamed.localhost STORE_TITLE="New Name"
  check "[$shell] invariants: exits 0" test "$RC" = 0
  check "[$shell] invariants: WooCommerce re-activated" has_call '^plugin activate woocommerce'
  check "[$shell] invariants: home follows store.host" opt_is home http://renamed.localhost
  check "[$shell] invariants: siteurl follows store.host" opt_is siteurl http://renamed.localhost
  check "[$shell] invariants: title follows store.name" opt_is blogname "New Name"
  check "[$shell] invariants: nothing else changed" \
    test "$(mutations | grep -cvE '^(plugin activate woocommerce|option update (home|siteurl|blogname) )')" = 0

  # 5. A newer core image: the schema is upgraded once.
  echo 58975 >"$STATE/wp_db_version"
  run_setup "$shell" STORE_URL=http://renamed.localhost STORE_TITLE="New Name"
  check "[$shell] image bump: update-db ran" has_call '^core update-db'
  run_setup "$shell" STORE_URL=http://renamed.localhost STORE_TITLE="New Name"
  check "[$shell] image bump: not again" test -z "$(mutations)"

  # 6. A failed step fails the script (the init container restarts) and the
  #    next run resumes without repeating what was done.
  new_state
  echo "plugin install woocommerce" >"$STATE/fail-on"
  run_setup "$shell"
  check "[$shell] failing step: exits non-zero" test "$RC" != 0
  check "[$shell] failing step: no defaults recorded" test ! -e "$STATE/options/store_weaver_defaults"
  rm "$STATE/fail-on"
  run_setup "$shell"
  check "[$shell] resumed: exits 0" test "$RC" = 0
  check "[$shell] resumed: WordPress not installed twice" bash -c "! grep -q '^core install' '$STATE/calls.log'"
  check "[$shell] resumed: WooCommerce installed" has_call '^plugin install woocommerce'

  # 7. Half-applied defaults: only the missing pieces are done.
  new_state
  echo "wc product create --sku=SW-CAP" >"$STATE/fail-on"
  run_setup "$shell"
  check "[$shell] half-applied: first run fails at the second product" test "$RC" != 0
  rm "$STATE/fail-on"
  run_setup "$shell"
  check "[$shell] half-applied: exits 0" test "$RC" = 0
  check "[$shell] half-applied: only the missing products and the rest" \
    test "$(mutations | tr '\n' ';')" = "wc product create --sku=SW-CAP --name=Weaver Cap --regular_price=16.00 --description=A cap --status=publish --user=admin;wc product create --sku=SW-TOTE --name=Canvas Tote --regular_price=9.90 --description=No newline at the end of this line --status=publish --user=admin;rewrite structure /%postname%/;option update page_on_front 10;option update show_on_front page;post delete 1 --force;post delete 2 --force;option update store_weaver_defaults 2;"

  # 7b. A store set up by the previous chart (level 1): only level 2's steps
  #     run, and a merchant's earlier changes to level-1 defaults stay.
  new_state
  run_setup "$shell"
  printf 1 >"$STATE/options/store_weaver_defaults"
  printf 'yes' >"$STATE/options/woocommerce_coming_soon"
  printf posts >"$STATE/options/show_on_front"
  printf publish >"$STATE/posts/1"; printf post >"$STATE/posts/1.type"; printf hello-world >"$STATE/posts/1.name"
  run_setup "$shell"
  check "[$shell] level 1 -> 2: exits 0" test "$RC" = 0
  check "[$shell] level 1 -> 2: only the front page and the sample post" \
    test "$(mutations | tr '\n' ';')" = "option update page_on_front 10;option update show_on_front page;post delete 1 --force;option update store_weaver_defaults 2;"
  check "[$shell] level 1 -> 2: coming soon still as the merchant set it" opt_is woocommerce_coming_soon yes
  run_setup "$shell"
  check "[$shell] level 2 again: changes nothing" test -z "$(mutations)"

  # 7c. A merchant who had chosen a front page keeps it.
  printf 1 >"$STATE/options/store_weaver_defaults"
  printf page >"$STATE/options/show_on_front"; printf 99 >"$STATE/options/page_on_front"
  run_setup "$shell"
  check "[$shell] merchant's front page: exits 0" test "$RC" = 0
  check "[$shell] merchant's front page: kept" opt_is page_on_front 99
  check "[$shell] merchant's front page: says so" grep -q 'chosen by the merchant' <<<"$OUT"

  # 8. Waiting for the database.
  new_state
  echo 2 >"$STATE/db-down"
  run_setup "$shell"
  check "[$shell] slow database: exits 0 once it answers" test "$RC" = 0
  check "[$shell] slow database: waited twice" test "$(grep -c 'waiting for the database' <<<"$OUT")" = 2
  new_state
  echo forever >"$STATE/db-down"
  run_setup "$shell" DB_WAIT_SECONDS=2
  check "[$shell] no database: exits non-zero" test "$RC" != 0
  check "[$shell] no database: says so" grep -q 'did not answer within 2s' <<<"$OUT"
  check "[$shell] no database: touched nothing" test -z "$(mutations)"

  # 9. Without the admin password it refuses to start.
  new_state
  run_setup "$shell" ADMIN_PASSWORD=
  check "[$shell] no admin password: exits non-zero" test "$RC" != 0

  # 9b. An image without wp-cli (the sandbox's, which no registry it reaches
  # can fill) stops at once, saying so, before it touches anything.
  new_state
  run_setup "$shell" PATH=/usr/bin:/bin
  check "[$shell] no wp-cli: exits non-zero" test "$RC" != 0
  check "[$shell] no wp-cli: names the boundary" grep -q 'wp-cli is not in this image' <<<"$OUT"
  check "[$shell] no wp-cli: touched nothing" test -z "$(mutations)"

  # 10. Options turned off in values are not applied.
  new_state
  run_setup "$shell" ENABLE_COD=false ENABLE_FREE_SHIPPING=false PRODUCTS_FILE=
  check "[$shell] features off: exits 0" test "$RC" = 0
  check "[$shell] features off: no COD, shipping or products" \
    bash -c "! grep -qE '^wc (payment_gateway|shipping_zone_method|product)' '$STATE/calls.log'"
done

# --------------------------------------------------------- copy-wordpress.sh
echo "== copy-wordpress.sh"
SRC="$WORK/usr-src-wordpress"
DST="$WORK/html"
mkdir -p "$SRC/wp-includes" "$SRC/wp-content/plugins/akismet" "$SRC/wp-content/themes/twentytwentyfive" "$DST/wp-content/plugins/akismet"
echo '<?php // core' >"$SRC/index.php"
# shellcheck disable=SC2016
echo '<?php $wp_version = "6.8.3";' >"$SRC/wp-includes/version.php"
echo 'image akismet' >"$SRC/wp-content/plugins/akismet/akismet.php"
echo 'theme' >"$SRC/wp-content/themes/twentytwentyfive/style.css"
echo '# BEGIN WordPress' >"$SRC/.htaccess"
echo '<?php // reads WORDPRESS_* variables' >"$SRC/wp-config-docker.php"
echo 'persisted akismet' >"$DST/wp-content/plugins/akismet/akismet.php"

set +e
OUT=$(WORDPRESS_SOURCE="$SRC" WP_PATH="$DST" STORE_WEAVER_FILES="$CHART/files" bash "$COPY" 2>&1); RC=$?
set -e
STATE=$WORK; : >"$WORK/calls.log"
check "copy: exits 0" test "$RC" = 0
check "copy: core copied" test -e "$DST/index.php" -a -e "$DST/wp-includes/version.php" -a -e "$DST/.htaccess"
check "copy: a persisted plugin is not overwritten" test "$(cat "$DST/wp-content/plugins/akismet/akismet.php")" = "persisted akismet"
check "copy: a missing bundled theme is copied" test -e "$DST/wp-content/themes/twentytwentyfive/style.css"
check "copy: wp-config.php from wp-config-docker.php" cmp -s "$SRC/wp-config-docker.php" "$DST/wp-config.php"
echo '<?php // edited' >"$DST/wp-config.php"
echo '<?php // changed core' >"$SRC/index.php"
set +e
OUT=$(WORDPRESS_SOURCE="$SRC" WP_PATH="$DST" STORE_WEAVER_FILES="$CHART/files" bash "$COPY" 2>&1); RC=$?
set -e
check "copy again: exits 0" test "$RC" = 0
check "copy again: copies nothing" grep -q 'already in' <<<"$OUT"
check "copy again: keeps wp-config.php" grep -q edited "$DST/wp-config.php"

# ------------------------------------------------------ secrets, statically
echo "== secrets on command lines (static)"
# The only uses of a secret variable in the scripts: its declaration and the
# printfs that feed wp-cli's stdin (the install, a clone's admin).
uses=$(grep -nE '\$\{?(ADMIN_PASSWORD|WORDPRESS_DB_PASSWORD|STORE_WEAVER_SMTP_PASSWORD)' "$SETUP" "$COPY" |
  grep -vE ':[0-9]+:: "\$\{ADMIN_PASSWORD:\?' | grep -vE "printf '%s\\\\n' \"\\\$ADMIN_PASSWORD\" \| wp (core install|user update \"\\\$ADMIN_USER\" --prompt=user_pass)" || true)
OUT=$uses
check "scripts: a secret only on stdin, never on a command line" test -z "$uses"
flags=$(grep -nE -- '--(admin_)?pass(word)?=' "$SETUP" "$COPY" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*#' || true)
OUT=$flags
check "scripts: no wp-cli password flag outside comments" test -z "$flags"

echo "setup-script-test: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
