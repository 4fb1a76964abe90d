#!/usr/bin/env bash
# Exercises scripts/e2e-order.sh without a cluster: a small local HTTP server
# (127.0.0.1, random port) plays WooCommerce's Store API and REST API v3 with
# their Nonce / Cart-Token / Basic-auth rules, and a fake kubectl plays the
# store's Deployment and wp-cli. Proves the script's request sequence, header
# handling and JSON checks, and that it fails (non-zero) when the store
# misbehaves. It does not prove WooCommerce itself: that is the real-cluster run.
# Needs bash, curl, jq, python3. Exits non-zero on failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT=$(cd "$HERE/../../.." && pwd)/scripts/e2e-order.sh
WORK=$(mktemp -d "${TMPDIR:-/tmp}/e2e-order-mock.XXXXXX")
SERVER_PID=""
cleanup() { [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for tool in curl jq python3; do command -v "$tool" >/dev/null || { echo "e2e-order-mock-test: $tool is missing" >&2; exit 1; }; done

cat >"$WORK/server.py" <<'PY'
import base64, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

MODE = sys.argv[1]
state = {"cart": 0}

class Store(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, status, body, headers=None):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_GET(self):
        p = self.path
        if p == "/":
            return self.reply(200, '<body class="home woocommerce-shop post-type-archive-product">shop</body>')
        if p == "/wp-json/wc/store/v1/products?per_page=50":
            return self.reply(200, [
                {"id": 9, "name": "Hoodie", "type": "variable", "is_purchasable": True, "is_in_stock": True,
                 "prices": {"price": "4200", "currency_code": "USD"}},
                {"id": 17, "name": "Weaver Mug", "type": "simple", "is_purchasable": True, "is_in_stock": True,
                 "prices": {"price": "1250", "currency_code": "USD"}},
            ])
        if p == "/wp-json/wc/store/v1/cart":
            return self.reply(200, {"items_count": 0}, {"Nonce": "n1", "Cart-Token": "t1"})
        if p.startswith("/wp-json/wc/v3/orders"):
            if MODE == "env-type" or self.headers.get("Authorization") != "Basic " + base64.b64encode(b"admin:app pw 1234").decode():
                return self.reply(401, {"code": "woocommerce_rest_cannot_view"})
            order = {"id": 42, "status": "processing", "payment_method": "cod",
                     "payment_method_title": "Cash on delivery", "total": "12.50", "currency": "USD",
                     "billing": {"email": "ada.weaver@example.com"}, "line_items": [{"product_id": 17}]}
            if p == "/wp-json/wc/v3/orders/42":
                return self.reply(200, order)
            if p == "/wp-json/wc/v3/orders?per_page=20":
                return self.reply(200, [order])
        return self.reply(404, {"code": "rest_no_route", "path": p})

    def do_POST(self):
        p, b = self.path, self.body()
        if self.headers.get("Cart-Token") != "t1":
            return self.reply(401, {"code": "no cart token"})
        if p == "/wp-json/wc/store/v1/cart/add-item":
            if self.headers.get("Nonce") != "n1" or b != {"id": 17, "quantity": 1}:
                return self.reply(403, {"code": "woocommerce_rest_invalid_nonce", "got": b})
            state["cart"] += 1
            return self.reply(201, {"items_count": state["cart"], "totals": {"total_price": "1250", "currency_code": "USD"}},
                              {"Nonce": "n2"})
        if p == "/wp-json/wc/store/v1/checkout":
            if self.headers.get("Nonce") != "n2":
                return self.reply(403, {"code": "woocommerce_rest_invalid_nonce"})
            if state["cart"] != 1 or b.get("payment_method") != "cod" or not b.get("billing_address", {}).get("email"):
                return self.reply(400, {"code": "bad checkout", "got": b})
            result = "failure" if MODE == "payment-fails" else "success"
            return self.reply(200, {"order_id": 42, "status": "processing", "payment_result": {"payment_status": result}})
        return self.reply(404, {"code": "rest_no_route"})

server = HTTPServer(("127.0.0.1", 0), Store)
print(server.server_address[1], flush=True)
server.serve_forever()
PY

mkdir -p "$WORK/bin"
cat >"$WORK/bin/kubectl" <<'FAKE'
#!/usr/bin/env bash
# Fake kubectl: one store, release "store", in namespace shop-1.
echo "$*" >>"$FAKE_LOG"
[ "$1 $2" = "-n shop-1" ] || { echo "unexpected namespace: $*" >&2; exit 1; }
shift 2
case "$*" in
  "get deploy -l app.kubernetes.io/part-of=store-weaver,app.kubernetes.io/component=wordpress -o jsonpath={.items[0].metadata.name}") printf store-wordpress ;;
  "get deploy store-wordpress -o jsonpath={.metadata.labels.app\.kubernetes\.io/instance}") printf store ;;
  "rollout status deploy/store-wordpress --timeout=900s") echo "successfully rolled out" ;;
  "get deploy store-wordpress -o jsonpath="*ADMIN_USER*) printf admin ;;
  "get deploy store-wordpress -o jsonpath="*WORDPRESS_CONFIG_EXTRA*) printf "define('WP_ENVIRONMENT_TYPE', 'production');" ;;
  "get deploy store-wordpress -o jsonpath="*STORE_WEAVER_SMTP_HOST*) [ "$FAKE_MODE" = smtp ] && printf smtp.example.com; exit 0 ;;
  "get deploy store-wordpress -o jsonpath="*STORE_WEAVER_GOOGLE_FONTS*) printf false ;;
  "exec deploy/store-wordpress -c wordpress -- php /opt/wp-cli/wp --path=/var/www/html eval "*show_on_front*)
    echo '{"show_on_front":"page","page_on_front":10,"shop_page_id":10,"sample_post":0,"sample_page":0}' ;;
  "exec deploy/store-wordpress -c wordpress -- php /opt/wp-cli/wp --path=/var/www/html eval "*store_weaver_loopback_target*)
    if [ "$FAKE_MODE" = no-mu-plugin ]; then echo missing; else echo loaded; fi ;;
  "exec deploy/store-wordpress -c wordpress -- php /opt/wp-cli/wp --path=/var/www/html eval "*cron_past_due*)
    # Past-due work drains after two polls, or never in mode cron-stuck.
    n=$(cat "$FAKE_DIR/polls" 2>/dev/null || echo 0); echo $((n + 1)) >"$FAKE_DIR/polls"
    if [ "$FAKE_MODE" = cron-stuck ] || [ "$n" -lt 2 ]; then echo '{"cron_past_due":1,"actions_past_due":8}'
    else echo '{"cron_past_due":0,"actions_past_due":0}'; fi ;;
  "exec deploy/store-wordpress -c wordpress -- php /opt/wp-cli/wp --path=/var/www/html option get store_weaver_mail_log --format=json")
    if [ "$FAKE_MODE" = smtp ]; then echo '[{"ok":true,"subject":"[Store]: New order #42","via":"smtp"}]'
    else echo '[{"ok":false,"subject":"[Store]: New order #42","via":"none","error":"Could not instantiate mail function."}]'; fi ;;
  "exec deploy/store-wordpress -c wordpress -- php /opt/wp-cli/wp --path=/var/www/html user application-password create admin "*" --porcelain") echo "app pw 1234" ;;
  "exec deploy/store-wordpress -c wordpress -- php /opt/wp-cli/wp --path=/var/www/html user application-password list admin --name="*" --field=uuid") echo "uuid-1" ;;
  "exec deploy/store-wordpress -c wordpress -- php /opt/wp-cli/wp --path=/var/www/html user application-password delete admin uuid-1") echo "Success: Deleted 1 of 1 application passwords." ;;
  *) echo "fake kubectl: unexpected: $*" >&2; exit 1 ;;
esac
FAKE
chmod +x "$WORK/bin/kubectl"

PASSED=0 FAILED=0
check() { local what=$1; shift; if "$@"; then echo "ok   $what"; PASSED=$((PASSED + 1)); else echo "FAIL: $what" >&2; printf '%s\n' "$OUT" >&2; FAILED=$((FAILED + 1)); fi; }

run_mode() { # mode -> OUT, RC
  python3 "$WORK/server.py" "$1" >"$WORK/port" &
  SERVER_PID=$!
  # A busy machine can take seconds to start python: wait up to 60 s.
  for _ in $(seq 600); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  local port; port=$(cat "$WORK/port")
  [ -n "$port" ] || { echo "e2e-order-mock-test: the mock server did not start (mode $1)" >&2; exit 1; }
  : >"$WORK/kubectl.log"
  rm -f "$WORK/polls"
  set +e
  OUT=$(PATH="$WORK/bin:$PATH" FAKE_LOG="$WORK/kubectl.log" FAKE_MODE="$1" FAKE_DIR="$WORK" \
    STORE_URL="http://127.0.0.1:$port" SCHEDULE_WAIT="${SCHEDULE_WAIT:-30}" POLL_SECS=0.1 \
    bash "$SCRIPT" shop-1 2>&1)
  RC=$?
  set -e
  kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  : >"$WORK/port"
}

run_mode normal; [ -z "${SHOW:-}" ] || printf "%s\n" "$OUT"
check "an order goes through: exits 0" test "$RC" = 0
check "an order goes through: says PASS with the order id" grep -q "PASS: order 42 placed" <<<"$OUT"
check "an order goes through: the application password is deleted" grep -q "application-password delete admin uuid-1" "$WORK/kubectl.log"

check "an order goes through: waited for past-due work to drain" test "$(cat "$WORK/polls" 2>/dev/null)" = 3
check "an order goes through: front page checked" grep -q "front page = the shop (page 10)" <<<"$OUT"
check "an order goes through: mail off is reported as such" grep -q "mail is off for this store" <<<"$OUT"
check "an order goes through: fonts off checked" grep -q "loads nothing from Google Fonts" <<<"$OUT"

run_mode smtp
check "with a relay: exits 0" test "$RC" = 0
check "with a relay: the order mail was handed to it" grep -q "handed to the SMTP relay smtp.example.com" <<<"$OUT"

SCHEDULE_WAIT=1 run_mode cron-stuck
check "scheduled work stuck: exits non-zero" test "$RC" != 0
check "scheduled work stuck: says what to look at" grep -q "scheduled work is not running" <<<"$OUT"

run_mode no-mu-plugin
check "no mu-plugin: exits non-zero" test "$RC" != 0
check "no mu-plugin: says where to look" grep -q "mu-plugin is not loaded.*-c copy-wordpress" <<<"$OUT"

run_mode env-type
check "401 over http: exits non-zero" test "$RC" != 0
check "401 over http: the WP_ENVIRONMENT_TYPE hint at the 401" grep -q "HTTP 401 .*WP_ENVIRONMENT_TYPE is local (this store: 'production')" <<<"$OUT"
check "401 over http: application password still cleaned up" grep -q "application-password delete admin uuid-1" "$WORK/kubectl.log"

run_mode payment-fails
check "a failed payment: exits non-zero" test "$RC" != 0
check "a failed payment: says why" grep -q "payment status is 'failure'" <<<"$OUT"

echo "e2e-order-mock-test: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
