#!/usr/bin/env bash
# Places a real order in a provisioned store, the way a shopper's browser
# does it, and confirms it the way the merchant's admin sees it. Needs a real
# cluster whose containers run (k3d locally, k3s in production) and a store
# that the engine (or `helm upgrade --install`) already provisioned.
#
#   scripts/e2e-order.sh <namespace> [release]
#
# A Medusa store is handed to scripts/e2e-order-medusa.sh (same idea: orders
# as a shopper places them, confirmed in the admin).
#
# Steps (each printed; the first failure exits non-zero with the response):
#   1. the store's Deployment is rolled out; the storefront answers;
#   2. Store API: pick a purchasable product          GET  /wp-json/wc/store/v1/products
#   3. Store API: a cart session (Nonce, Cart-Token)  GET  /wp-json/wc/store/v1/cart
#   4. Store API: add the product to the cart         POST /wp-json/wc/store/v1/cart/add-item
#   5. Store API: check out, cash on delivery         POST /wp-json/wc/store/v1/checkout
#   6. an application password for the admin user    kubectl exec ... wp user application-password create
#   7. admin REST API: the order exists, is COD, holds the product
#                                                     GET  /wp-json/wc/v3/orders/<id>
#   8. the storefront opens on the shop: front page = the shop page, no
#      "Hello world!" / "Sample Page" left                  wp eval
#   9. scheduled work runs inside the pod: the mu-plugin is loaded, and within SCHEDULE_WAIT seconds no
#      WP-Cron event and no Action Scheduler action is more than 60 s past due
#      (page loads trigger WP-Cron; the chart's mu-plugin sends that request
#      to Apache's real port)                               wp eval
#  10. the order's mail: with an SMTP relay configured (smtp.* values) it was
#      handed to the relay; without one it is recorded as not sent
#                                                     wp option get store_weaver_mail_log
#  11. with woocommerce.googleFonts=false the storefront loads nothing from
#      Google Fonts
#  12. the application password is deleted again (also on failure).
#
# Steps 8-11 are what only running containers can show: the sandbox's tests
# check the scripts and the rendered chart, not WordPress itself.
#
# Environment:
#   STORE_URL   default http(s)://<the Ingress host> (https when the Ingress has TLS)
#   ADMIN_USER  default: the ADMIN_USER of the setup-store init container, else admin
#   CURL_OPTS   extra curl options, e.g. "-k" for a staging certificate, or
#               "--resolve shop.example.com:443:203.0.113.7"
#   KUBECTL     default kubectl
#   SCHEDULE_WAIT  seconds to wait for past-due scheduled work to drain (default 180)
#   POLL_SECS   seconds between two looks while waiting (default 5)
# Needs curl (7.78+ resolves *.localhost to 127.0.0.1 by itself) and jq. On
# k3d, create the cluster with `-p "80:80@loadbalancer"` so that
# http://<slug>.localhost reaches Traefik.
set -euo pipefail

NS=${1:?usage: $0 <namespace> [release]}
RELEASE=${2:-}
KUBECTL=${KUBECTL:-kubectl}
# A Medusa store (its server Deployment) has its own check.
if [ -n "$("$KUBECTL" -n "$NS" get deploy -l app.kubernetes.io/component=server -o name 2>/dev/null)" ]; then
  exec "$(dirname "${BASH_SOURCE[0]}")/e2e-order-medusa.sh" "$NS"
fi
read -r -a CURL_EXTRA <<<"${CURL_OPTS:-}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/e2e-order.XXXXXX")
APP_PW_NAME="store-weaver-e2e-$$-$RANDOM"
APP_PW_CREATED=""

step() { printf '\n==> %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
die() {
  printf '    FAILED: %s\n' "$*" >&2
  if [ -s "$WORK/body" ]; then
    printf '    last response (HTTP %s):\n' "${LAST_STATUS:-?}" >&2
    head -c 2000 "$WORK/body" >&2
    echo >&2
  fi
  exit 1
}
kc() { "$KUBECTL" -n "$NS" "$@"; }
wp_in_store() { kc exec "deploy/$DEPLOY" -c wordpress -- php /opt/wp-cli/wp --path=/var/www/html "$@"; }

cleanup() {
  if [ -n "$APP_PW_CREATED" ]; then
    local uuid
    uuid=$(wp_in_store user application-password list "$ADMIN_USER" --name="$APP_PW_NAME" --field=uuid 2>/dev/null || true)
    if [ -n "$uuid" ]; then
      wp_in_store user application-password delete "$ADMIN_USER" "$uuid" >/dev/null 2>&1 &&
        printf '\n    cleanup: application password %s deleted\n' "$APP_PW_NAME"
    fi
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in curl jq "$KUBECTL"; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

# http METHOD URL [JSON body] [extra curl args...] -> status in LAST_STATUS,
# body in $WORK/body, headers in $WORK/headers; cookies kept in $WORK/jar.
http() {
  local method=$1 url=$2 body=${3:-}
  shift 3 2>/dev/null || shift $#
  local args=(-sS -X "$method" -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}'
    -b "$WORK/jar" -c "$WORK/jar" --max-time 60 -H 'Accept: application/json')
  if [ -n "$body" ]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$body")
  fi
  LAST_STATUS=$(curl "${args[@]}" "${CURL_EXTRA[@]}" "$@" "$url") || die "curl $method $url failed"
}
header() { awk -v h="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" \
  'BEGIN { FS=": " } tolower($1) == h { v=$2 } END { sub(/\r$/, "", v); print v }' "$WORK/headers"; }
expect_status() { # allowed statuses...
  local s
  for s in "$@"; do [ "$LAST_STATUS" = "$s" ] && return 0; done
  die "expected HTTP $* but got $LAST_STATUS"
}

# ------------------------------------------------------------------ 1. store
step "1. the store in namespace $NS"
if [ -z "$RELEASE" ]; then
  DEPLOY=$(kc get deploy -l app.kubernetes.io/part-of=store-weaver,app.kubernetes.io/component=wordpress \
    -o jsonpath='{.items[0].metadata.name}')
  [ -n "$DEPLOY" ] || die "no store-weaver WordPress Deployment in namespace $NS"
  RELEASE=$(kc get deploy "$DEPLOY" -o jsonpath='{.metadata.labels.app\.kubernetes\.io/instance}')
else
  DEPLOY="$RELEASE-wordpress"
fi
kc rollout status "deploy/$DEPLOY" --timeout=900s >/dev/null || die "Deployment $DEPLOY is not rolled out"
ok "Deployment $DEPLOY (release $RELEASE) is rolled out"
if [ -z "${STORE_URL:-}" ]; then
  host=$(kc get ingress -l "app.kubernetes.io/instance=$RELEASE" -o jsonpath='{.items[0].spec.rules[0].host}')
  tls=$(kc get ingress -l "app.kubernetes.io/instance=$RELEASE" -o jsonpath='{.items[0].spec.tls[0].secretName}')
  [ -n "$host" ] || die "no Ingress host for release $RELEASE"
  STORE_URL="http://$host"
  [ -z "$tls" ] || STORE_URL="https://$host"
fi
STORE_URL=${STORE_URL%/}
if [ -z "${ADMIN_USER:-}" ]; then
  ADMIN_USER=$(kc get deploy "$DEPLOY" \
    -o jsonpath='{.spec.template.spec.initContainers[?(@.name=="setup-store")].env[?(@.name=="ADMIN_USER")].value}')
  ADMIN_USER=${ADMIN_USER:-admin}
fi
http GET "$STORE_URL/" ""
expect_status 200
grep -qi woocommerce "$WORK/body" || die "the storefront at $STORE_URL/ does not look like a WooCommerce store"
ok "storefront $STORE_URL/ answers 200 with WooCommerce markup"

# --------------------------------------------------------------- 2. product
step "2. pick a purchasable product (Store API)"
http GET "$STORE_URL/wp-json/wc/store/v1/products?per_page=50" ""
expect_status 200
product=$(jq -c '[.[] | select(.is_purchasable and .is_in_stock and .type == "simple")][0] // empty' "$WORK/body") ||
  die "the products answer is not a JSON list"
[ -n "$product" ] || die "no purchasable simple product in the store"
PRODUCT_ID=$(jq -r .id <<<"$product")
ok "product $PRODUCT_ID: $(jq -r .name <<<"$product") ($(jq -r '.prices.price + " " + .prices.currency_code + " minor units"' <<<"$product"))"

# ------------------------------------------------------------------ 3. cart
step "3. a cart session (Store API)"
http GET "$STORE_URL/wp-json/wc/store/v1/cart" ""
expect_status 200
NONCE=$(header Nonce)
CART_TOKEN=$(header Cart-Token)
[ -n "$NONCE" ] || [ -n "$CART_TOKEN" ] || die "the cart answered without a Nonce or Cart-Token header"
present() { if [ -n "$1" ]; then echo received; else echo missing; fi; }
ok "Nonce $(present "$NONCE"), Cart-Token $(present "$CART_TOKEN")"
session_headers() {
  SESSION=()
  [ -z "$NONCE" ] || SESSION+=(-H "Nonce: $NONCE")
  [ -z "$CART_TOKEN" ] || SESSION+=(-H "Cart-Token: $CART_TOKEN")
}
refresh_session() {
  local n t
  n=$(header Nonce); t=$(header Cart-Token)
  [ -z "$n" ] || NONCE=$n
  [ -z "$t" ] || CART_TOKEN=$t
}

# -------------------------------------------------------------- 4. add item
step "4. add product $PRODUCT_ID to the cart (Store API)"
session_headers
http POST "$STORE_URL/wp-json/wc/store/v1/cart/add-item" "{\"id\": $PRODUCT_ID, \"quantity\": 1}" "${SESSION[@]}"
expect_status 200 201
refresh_session
count=$(jq '.items_count // 0' "$WORK/body") || die "the cart answer is not JSON"
[ "$count" -ge 1 ] || die "the cart holds $count items after add-item"
ok "cart holds $count item(s), total $(jq -r '.totals.total_price + " " + .totals.currency_code' "$WORK/body") minor units"

# --------------------------------------------------------------- 5. checkout
step "5. check out with cash on delivery (Store API)"
address='{"first_name":"Ada","last_name":"Weaver","company":"","address_1":"1 Loom Street","address_2":"",
  "city":"San Francisco","state":"CA","postcode":"94103","country":"US","phone":"5555550100"}'
checkout=$(jq -cn --argjson a "$address" \
  '{billing_address: ($a + {email: "ada.weaver@example.com"}), shipping_address: $a,
    payment_method: "cod", customer_note: "store-weaver e2e-order.sh"}')
session_headers
http POST "$STORE_URL/wp-json/wc/store/v1/checkout" "$checkout" "${SESSION[@]}"
expect_status 200 201
ORDER_ID=$(jq -r '.order_id // empty' "$WORK/body") || die "the checkout answer is not JSON"
[ -n "$ORDER_ID" ] || die "checkout returned no order_id"
payment=$(jq -r '.payment_result.payment_status // empty' "$WORK/body")
[ "$payment" = success ] || die "checkout payment status is '$payment', not success"
ok "order $ORDER_ID placed, status $(jq -r .status "$WORK/body"), payment $payment"

# ---------------------------------------------------- 6. application password
step "6. an application password for $ADMIN_USER (wp-cli in the store's pod)"
APP_PW=$(wp_in_store user application-password create "$ADMIN_USER" "$APP_PW_NAME" --porcelain) ||
  die "could not create an application password with wp-cli in the store's pod"
APP_PW_CREATED=1
[ -n "$APP_PW" ] || die "wp-cli printed no application password"
ok "application password '$APP_PW_NAME' created"

# ------------------------------------------------------------ 7. admin check
step "7. the order in WooCommerce admin (REST API v3)"
http GET "$STORE_URL/wp-json/wc/v3/orders/$ORDER_ID" "" -u "$ADMIN_USER:$APP_PW"
if [ "$LAST_STATUS" = 401 ] && [ "${STORE_URL#https://}" = "$STORE_URL" ]; then
  # WordPress accepts application passwords over plain http only when
  # WP_ENVIRONMENT_TYPE is "local"; creating one (step 6) works either way.
  env_type=$(kc get deploy "$DEPLOY" \
    -o jsonpath='{.spec.template.spec.containers[?(@.name=="wordpress")].env[?(@.name=="WORDPRESS_CONFIG_EXTRA")].value}' 2>/dev/null |
    grep -o "WP_ENVIRONMENT_TYPE', '[a-z]*'" | sed "s/.*, '//; s/'\$//" || true)
  die "HTTP 401 for a valid application password over plain http: WordPress refuses application passwords without https unless WP_ENVIRONMENT_TYPE is local (this store: '${env_type:-?}'). Install the store with values-local.yaml (wordpress.environmentType: local) or serve it over https"
fi
expect_status 200
jq -e --argjson id "$ORDER_ID" '.id == $id' "$WORK/body" >/dev/null || die "admin API returned another order"
method=$(jq -r .payment_method "$WORK/body")
status=$(jq -r .status "$WORK/body")
[ "$method" = cod ] || die "payment method is '$method', not cod"
case "$status" in processing | on-hold | pending) ;; *) die "unexpected order status '$status'" ;; esac
jq -e --argjson p "$PRODUCT_ID" 'any(.line_items[]; .product_id == $p)' "$WORK/body" >/dev/null ||
  die "the order does not hold product $PRODUCT_ID"
ok "order $ORDER_ID: status $status, payment $method ($(jq -r .payment_method_title "$WORK/body")), total $(jq -r '.total + " " + .currency' "$WORK/body"), billing $(jq -r .billing.email "$WORK/body")"
http GET "$STORE_URL/wp-json/wc/v3/orders?per_page=20" "" -u "$ADMIN_USER:$APP_PW"
expect_status 200
jq -e --argjson id "$ORDER_ID" 'any(.[]; .id == $id)' "$WORK/body" >/dev/null || die "order $ORDER_ID is not in the admin order list"
ok "order $ORDER_ID is listed in WooCommerce admin"

# ------------------------------------------------------------ 8. front page
step "8. the storefront opens on the shop"
# shellcheck disable=SC2016 # PHP code, not shell
front=$(wp_in_store eval '
  $sample = function ( $type, $name ) {
    return count( get_posts( array( "post_type" => $type, "name" => $name, "post_status" => "any", "fields" => "ids" ) ) );
  };
  echo wp_json_encode( array(
    "show_on_front" => get_option( "show_on_front" ),
    "page_on_front" => (int) get_option( "page_on_front" ),
    "shop_page_id"  => (int) get_option( "woocommerce_shop_page_id" ),
    "sample_post"   => $sample( "post", "hello-world" ),
    "sample_page"   => $sample( "page", "sample-page" ),
  ) );') || die "wp eval (front page) failed"
jq -e . >/dev/null 2>&1 <<<"$front" || die "wp eval printed no JSON: $front"
if [ "$(jq -r '.show_on_front == "page" and .page_on_front == .shop_page_id and .shop_page_id > 0' <<<"$front")" != true ]; then
  die "the front page is not the shop page: $front"
fi
[ "$(jq -r '.sample_post + .sample_page' <<<"$front")" = 0 ] || die "WordPress's sample content is still there: $front"
http GET "$STORE_URL/" ""
expect_status 200
grep -q 'Hello world!' "$WORK/body" && die "the home page still shows WordPress's sample post"
grep -qE 'woocommerce-shop|post-type-archive-product' "$WORK/body" || die "the home page is not the shop (no woocommerce-shop body class)"
ok "front page = the shop (page $(jq -r .shop_page_id <<<"$front")), no sample post or page"
HOME_HTML="$WORK/home.html"
cp "$WORK/body" "$HOME_HTML"

# ---------------------------------------------------------- 9. scheduled work
step "9. scheduled work runs inside the pod (WP-Cron, Action Scheduler)"
# shellcheck disable=SC2016 # PHP code, not shell
mu=$(wp_in_store eval 'echo function_exists( "store_weaver_loopback_target" ) ? "loaded" : "missing";') ||
  die "wp eval (mu-plugin) failed"
[ "$mu" = loaded ] || die "the platform mu-plugin is not loaded (wp-content/mu-plugins/store-weaver.php): copy-wordpress installs it at every pod start, see: $KUBECTL -n $NS logs deploy/$DEPLOY -c copy-wordpress"
ok "the platform mu-plugin is loaded"
# shellcheck disable=SC2016 # PHP code, not shell
late_php='
  $late = time() - 60;
  $cron = 0;
  foreach ( (array) _get_cron_array() as $ts => $hooks ) { if ( $ts < $late ) { $cron += count( $hooks ); } }
  $actions = function_exists( "as_get_scheduled_actions" )
    ? count( as_get_scheduled_actions( array( "status" => "pending", "date" => gmdate( "Y-m-d H:i:s", $late ), "date_compare" => "<=", "per_page" => 200 ), "ids" ) )
    : -1;
  echo wp_json_encode( array( "cron_past_due" => $cron, "actions_past_due" => $actions ) );'
deadline=$((SECONDS + ${SCHEDULE_WAIT:-180}))
while :; do
  # A page load is what makes WordPress start WP-Cron.
  http GET "$STORE_URL/" ""
  late=$(wp_in_store eval "$late_php") || die "wp eval (scheduled work) failed"
  jq -e . >/dev/null 2>&1 <<<"$late" || die "wp eval printed no JSON: $late"
  [ "$(jq -r .actions_past_due <<<"$late")" != -1 ] || die "Action Scheduler is not loaded (is WooCommerce active?)"
  [ "$(jq -r '.cron_past_due + .actions_past_due' <<<"$late")" = 0 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "scheduled work is not running: $late after ${SCHEDULE_WAIT:-180}s (WP-Cron's request to the store's own URL does not reach Apache: is the mu-plugin wp-content/mu-plugins/store-weaver.php there, and STORE_WEAVER_LOOPBACK_URL set on the wordpress container?)"
  fi
  sleep "${POLL_SECS:-5}"
done
ok "no WP-Cron event and no scheduled action more than 60 s past due"

# ----------------------------------------------------------------- 10. mail
step "10. the order's mail"
smtp_host=$(kc get deploy "$DEPLOY" \
  -o jsonpath='{.spec.template.spec.containers[?(@.name=="wordpress")].env[?(@.name=="STORE_WEAVER_SMTP_HOST")].value}')
# New-order mails carry "#<order number>" in their subject.
mail_for_order() { # ok(true|false) -> 0 when the log has such an entry for the order
  local log
  log=$(wp_in_store option get store_weaver_mail_log --format=json 2>/dev/null) || return 1
  jq -e --arg id "$ORDER_ID" --argjson ok "$1" 'any(.[]; .ok == $ok and (.subject | test("#" + $id + "\\b")))' >/dev/null 2>&1 <<<"$log"
}
deadline=$((SECONDS + 60))
if [ -n "$smtp_host" ]; then
  until mail_for_order true; do
    [ "$SECONDS" -lt "$deadline" ] || die "no mail for order $ORDER_ID was handed to the relay $smtp_host (wp option get store_weaver_mail_log --format=json; the wordpress container's log has the error)"
    sleep "${POLL_SECS:-5}"
  done
  ok "the order mail was handed to the SMTP relay $smtp_host"
else
  until mail_for_order false; do
    [ "$SECONDS" -lt "$deadline" ] || die "no mail attempt for order $ORDER_ID was recorded (is the mu-plugin installed?)"
    sleep "${POLL_SECS:-5}"
  done
  ok "mail is off for this store (no smtp.host): the order mail was recorded as not sent, as expected"
fi

# --------------------------------------------------------- 11. Google Fonts
step "11. Google Fonts"
fonts=$(kc get deploy "$DEPLOY" \
  -o jsonpath='{.spec.template.spec.containers[?(@.name=="wordpress")].env[?(@.name=="STORE_WEAVER_GOOGLE_FONTS")].value}')
if [ "$fonts" = false ]; then
  ! grep -qE 'fonts\.(googleapis|gstatic)\.com' "$HOME_HTML" || die "woocommerce.googleFonts is false but the storefront still loads Google Fonts"
  ok "the storefront loads nothing from Google Fonts"
elif grep -qE 'fonts\.(googleapis|gstatic)\.com' "$HOME_HTML"; then
  ok "the storefront loads Google Fonts (woocommerce.googleFonts: true; set false to stop it)"
else
  ok "no Google Fonts on the storefront"
fi

printf '\nPASS: order %s placed at %s with cash on delivery and confirmed in admin; the store opens on its shop and runs its scheduled work\n' "$ORDER_ID" "$STORE_URL"
