#!/bin/sh
# Init step 2 of the WordPress pod, run in the pinned `wordpress:cli` image
# (POSIX sh: that image's /bin/sh is busybox). Sets up one WooCommerce store
# with no human step. The WordPress container starts only after this exits 0,
# so the pod reports Ready only once the store is set up; a failed step exits
# non-zero and the kubelet runs the whole script again (with back-off).
#
# Every step looks before it acts, so running it again (every pod start) only
# reads. Two kinds of steps:
#   * the platform's invariants, checked on every start: WordPress installed,
#     its database schema current, the URL and title the engine gave, and
#     WooCommerce installed and active;
#   * the store's first-run defaults (theme, pages, cash on delivery, shipping,
#     "coming soon" off, sample products, permalinks, the shop as front page,
#     WordPress's sample post/page/comment removed): applied until they have
#     all succeeded once, then their level is recorded in the option
#     `store_weaver_defaults` and never re-applied, so a merchant who later
#     changes them keeps the change across restarts. A chart that adds a
#     default adds a level: existing stores get only the new level's steps.
# Secrets arrive as environment variables from the store's Secret; the admin
# password goes to wp-cli on stdin, never on a command line.
set -eu

: "${WP_PATH:=/var/www/html}"
: "${STORE_URL:?STORE_URL is required}"
: "${STORE_TITLE:?STORE_TITLE is required}"
: "${ADMIN_USER:=admin}"
: "${ADMIN_EMAIL:?ADMIN_EMAIL is required}"
: "${ADMIN_PASSWORD:?ADMIN_PASSWORD is required (key admin-password of the store Secret)}"
: "${DB_WAIT_SECONDS:=300}"
: "${DB_WAIT_INTERVAL:=3}"
: "${WOOCOMMERCE_VERSION:=}"
: "${STORE_THEME:=storefront}"
: "${STORE_THEME_VERSION:=}"
: "${STORE_CURRENCY:=}"
: "${STORE_COUNTRY:=}"
: "${ENABLE_COD:=true}"
: "${ENABLE_FREE_SHIPPING:=true}"
: "${PRODUCTS_FILE:=}"
: "${PERMALINK_STRUCTURE:=/%postname%/}"
: "${WP_CLI_EXPORT_DIR:=}"
# The platform's mu-plugin reads this: the setup step sends no mail (it has no
# relay settings), and says so instead of "mail is off for this store".
export STORE_WEAVER_STEP=setup
# The level of first-run defaults this chart applies. A chart version that
# adds a default adds a level below; a store records the level it reached, so
# it receives each level's steps once.
#   1: theme, pages, checkout, sample products, permalinks
#   2: the shop as front page, WordPress's sample content removed
DEFAULTS_VERSION=2

log() { printf '[setup-store] %s\n' "$*"; }
ok() { log "ok: $*"; }
doing() { log "doing: $*"; }

# An option's value; empty when it does not exist.
opt() { wp option get "$1" 2>/dev/null || true; }

ensure_option() { # name value
  if [ "$(opt "$1")" = "$2" ]; then
    ok "option $1 = $2"
  else
    doing "option $1 = $2"
    wp option update "$1" "$2"
  fi
}

db_reachable() {
  # Plain PHP (mysqli) rather than `wp db check`: the latter needs the mysql
  # client's TLS settings to match the server's, and `wp core is-installed`
  # cannot tell "no database yet" from "not installed".
  # shellcheck disable=SC2016 # PHP code, not shell
  php -r '
    mysqli_report(MYSQLI_REPORT_OFF);
    $host = getenv("WORDPRESS_DB_HOST") ?: "localhost";
    $port = 3306;
    if (preg_match("/^(.+):([0-9]+)\$/", $host, $m)) { $host = $m[1]; $port = (int) $m[2]; }
    $db = @mysqli_connect($host, getenv("WORDPRESS_DB_USER") ?: "", getenv("WORDPRESS_DB_PASSWORD") ?: "", getenv("WORDPRESS_DB_NAME") ?: "", $port);
    exit($db ? 0 : 1);
  ' >/dev/null 2>&1
}

wait_for_db() {
  waited=0
  step_secs=$DB_WAIT_INTERVAL
  [ "$step_secs" -gt 0 ] || step_secs=1
  until db_reachable; do
    if [ "$waited" -ge "$DB_WAIT_SECONDS" ]; then
      log "error: the database at ${WORDPRESS_DB_HOST:-?} did not answer within ${DB_WAIT_SECONDS}s"
      exit 1
    fi
    log "waiting for the database at ${WORDPRESS_DB_HOST:-?} (${waited}s)"
    sleep "$DB_WAIT_INTERVAL"
    waited=$((waited + step_secs))
  done
  ok "database reachable"
}

pages_ok() {
  for page in shop cart checkout myaccount; do
    id=$(opt "woocommerce_${page}_page_id")
    case "$id" in '' | 0) return 1 ;; esac
    [ "$(wp post get "$id" --field=post_status 2>/dev/null || true)" = publish ] || return 1
  done
}

# ------------------------------------------------------------------ invariants
cd "$WP_PATH"

# Every step below runs wp-cli. An image without it (the Store Weaver
# sandbox's setup image: no registry that machine reaches has wp-cli or
# WooCommerce) stops here, before it touches anything, with the reason in the
# pod's termination message.
if ! command -v wp >/dev/null 2>&1; then
  echo "[setup-store] error: wp-cli is not in this image: the setup step installs WordPress and WooCommerce with it. Use setup.image with wp-cli (the chart's default wordpress:cli image has it). In the Store Weaver sandbox no reachable registry has wp-cli or WooCommerce, so a store there runs with setup.enabled=false (docs/sandbox.md)." >&2
  exit 1
fi

if [ -n "$WP_CLI_EXPORT_DIR" ]; then
  # Leaves wp-cli where the WordPress container can run it
  # (`php /opt/wp-cli/wp ...` with `kubectl exec`).
  if [ -s "$WP_CLI_EXPORT_DIR/wp" ]; then
    ok "wp-cli already in $WP_CLI_EXPORT_DIR"
  else
    cp "$(command -v wp)" "$WP_CLI_EXPORT_DIR/wp"
    chmod 0755 "$WP_CLI_EXPORT_DIR/wp"
  fi
fi

wait_for_db

if wp core is-installed >/dev/null 2>&1; then
  ok "WordPress installed"
else
  doing "wp core install at $STORE_URL"
  # stdout dropped: with --prompt, wp-cli prints the whole command it ran,
  # --admin_password='...' included, and this output is the container log.
  # Warnings and errors are on stderr and stay visible.
  printf '%s\n' "$ADMIN_PASSWORD" | wp core install \
    --url="$STORE_URL" --title="$STORE_TITLE" \
    --admin_user="$ADMIN_USER" --admin_email="$ADMIN_EMAIL" \
    --skip-email --prompt=admin_password >/dev/null
  ok "WordPress installed (admin user $ADMIN_USER)"
fi

# A clone's database comes with its source's admin, whose password Store
# Weaver blanked (no one signs in with the source's): the admin takes this
# store's own, from its Secret, on stdin. stdout dropped as above.
if admin_pass=$(wp user get "$ADMIN_USER" --field=user_pass 2>/dev/null) && [ -z "$admin_pass" ]; then
  doing "wp user update $ADMIN_USER (this store's own admin password)"
  printf '%s\n' "$ADMIN_PASSWORD" | wp user update "$ADMIN_USER" --prompt=user_pass >/dev/null
else
  ok "admin password set"
fi

# Core comes from the image tag: after a tag bump the schema may lag behind.
have_db=$(opt db_version)
# shellcheck disable=SC2016 # PHP code, not shell
want_db=$(wp eval 'echo $GLOBALS["wp_db_version"];' 2>/dev/null || true)
if [ -z "$want_db" ] || [ "$have_db" = "$want_db" ]; then
  ok "database schema current (${have_db:-?})"
else
  doing "wp core update-db ($have_db -> $want_db)"
  wp core update-db
fi

# The engine owns the store's address and display name.
ensure_option home "$STORE_URL"
ensure_option siteurl "$STORE_URL"
ensure_option blogname "$STORE_TITLE"

if wp plugin is-installed woocommerce; then
  ok "WooCommerce installed"
else
  doing "wp plugin install woocommerce ${WOOCOMMERCE_VERSION:-(latest)}"
  wp plugin install woocommerce ${WOOCOMMERCE_VERSION:+"--version=$WOOCOMMERCE_VERSION"}
fi
if wp plugin is-active woocommerce; then
  ok "WooCommerce active"
else
  doing "wp plugin activate woocommerce"
  wp plugin activate woocommerce
fi

# ------------------------------------------------------------ first-run defaults
defaults_level=$(opt store_weaver_defaults)
case "$defaults_level" in '' | *[!0-9]*) defaults_level=0 ;; esac
if [ "$defaults_level" -ge "$DEFAULTS_VERSION" ]; then
  ok "first-run defaults applied earlier (store_weaver_defaults=$defaults_level): leaving the merchant's settings alone"
else
  if [ "$defaults_level" -lt 1 ]; then
    if wp theme is-installed "$STORE_THEME"; then
      ok "theme $STORE_THEME installed"
    else
      doing "wp theme install $STORE_THEME ${STORE_THEME_VERSION:-(latest)}"
      wp theme install "$STORE_THEME" ${STORE_THEME_VERSION:+"--version=$STORE_THEME_VERSION"}
    fi
    if [ "$(opt stylesheet)" = "$STORE_THEME" ]; then
      ok "theme $STORE_THEME active"
    else
      doing "wp theme activate $STORE_THEME"
      wp theme activate "$STORE_THEME"
    fi

    if pages_ok; then
      ok "shop, cart, checkout and my-account pages exist"
    else
      doing "create the WooCommerce pages"
      wp wc tool run install_pages --user="$ADMIN_USER"
    fi

    # The storefront is public at once: no "coming soon" gate (WooCommerce 9.1+
    # turns it on for new stores), no setup wizard, no usage tracking prompt.
    ensure_option woocommerce_coming_soon no
    ensure_option woocommerce_allow_tracking no
    if wp option get woocommerce_onboarding_profile >/dev/null 2>&1; then
      ok "onboarding profile present"
    else
      doing "skip the onboarding wizard"
      wp option update woocommerce_onboarding_profile '{"skipped":true}' --format=json
    fi
    [ -z "$STORE_CURRENCY" ] || ensure_option woocommerce_currency "$STORE_CURRENCY"
    [ -z "$STORE_COUNTRY" ] || ensure_option woocommerce_default_country "$STORE_COUNTRY"

    if [ "$ENABLE_COD" = true ]; then
      if [ "$(wp option pluck woocommerce_cod_settings enabled 2>/dev/null || true)" = yes ]; then
        ok "cash on delivery enabled"
      else
        doing "enable cash on delivery"
        wp wc payment_gateway update cod --enabled=true --user="$ADMIN_USER"
      fi
    fi

    if [ "$ENABLE_FREE_SHIPPING" = true ]; then
      # Zone 0 is "Locations not covered by your other zones": without a method
      # there, a cart with a physical product cannot be checked out.
      if wp wc shipping_zone_method list 0 --field=method_id --user="$ADMIN_USER" 2>/dev/null | grep -qx free_shipping; then
        ok "free shipping offered everywhere"
      else
        doing "offer free shipping everywhere"
        wp wc shipping_zone_method create 0 --method_id=free_shipping --user="$ADMIN_USER"
      fi
    fi

    if [ -n "$PRODUCTS_FILE" ] && [ -s "$PRODUCTS_FILE" ]; then
      # One product a line: sku|price|name|description
      while IFS='|' read -r sku price name description || [ -n "$sku" ]; do
        case "$sku" in '' | '#'*) continue ;; esac
        found=$(wp wc product list --sku="$sku" --field=id --user="$ADMIN_USER" </dev/null 2>/dev/null || true)
        if [ -n "$found" ]; then
          ok "product $sku exists"
        else
          doing "create product $sku ($name, $price)"
          wp wc product create --sku="$sku" --name="$name" --regular_price="$price" \
            --description="$description" --status=publish --user="$ADMIN_USER" </dev/null
        fi
      done <"$PRODUCTS_FILE"
    fi

    if [ "$(opt permalink_structure)" = "$PERMALINK_STRUCTURE" ]; then
      ok "permalinks $PERMALINK_STRUCTURE"
    else
      doing "permalinks $PERMALINK_STRUCTURE"
      wp rewrite structure "$PERMALINK_STRUCTURE"
    fi
  fi

  if [ "$defaults_level" -lt 2 ]; then
    # The storefront opens on the shop, not on WordPress's blog. Only while
    # the home page is still WordPress's default (latest posts): a merchant
    # who picked a page keeps it.
    shop_id=$(opt woocommerce_shop_page_id)
    case "$shop_id" in '' | 0) log "error: no shop page (woocommerce_shop_page_id) to use as the front page"; exit 1 ;; esac
    front=$(opt show_on_front)
    if [ "$front" = page ] && [ "$(opt page_on_front)" = "$shop_id" ]; then
      ok "front page is the shop (page $shop_id)"
    elif [ "$front" = page ]; then
      ok "front page is page $(opt page_on_front), chosen by the merchant: left alone"
    else
      doing "front page = the shop (page $shop_id)"
      wp option update page_on_front "$shop_id"
      wp option update show_on_front page
    fi
    # WordPress's sample content ("Hello world!" with its comment, "Sample
    # Page" in the menu), found by its slugs. Deleting the post deletes its
    # comment; --force skips the trash.
    for sample in post:hello-world page:sample-page; do
      ids=$(wp post list --post_type="${sample%%:*}" --name="${sample#*:}" --field=ID)
      if [ -z "$ids" ]; then
        ok "no sample ${sample%%:*} ${sample#*:}"
      else
        for id in $ids; do
          doing "delete the sample ${sample%%:*} ${sample#*:} ($id)"
          wp post delete "$id" --force
        done
      fi
    done
  fi

  wp option update store_weaver_defaults "$DEFAULTS_VERSION"
  log "first-run defaults applied (level $DEFAULTS_VERSION)"
fi

wp plugin is-active woocommerce
log "store ready at $STORE_URL"
