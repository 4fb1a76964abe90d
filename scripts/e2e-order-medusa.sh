#!/usr/bin/env bash
# Places real orders in a provisioned Medusa store, the way a shopper does it,
# and confirms them the way the merchant's admin sees them: the Medusa sibling
# of scripts/e2e-order.sh (which hands Medusa stores to this script). Needs a
# cluster whose containers run and a store the engine already provisioned.
#
#   scripts/e2e-order-medusa.sh <namespace>
#
# Steps (each printed; the first failure exits non-zero saying why):
#   1. the store's server and storefront are rolled out;
#   2. an order through the storefront in headless Chromium (skipped with a
#      note when chromium or playwright-core is missing: npm ci --prefix medusa/scripts);
#   3. an order through the Store API;
#   4. both confirmed through the Admin API, signed in as the store's admin
#      (its e-mail from the server's environment, its password read from the
#      store's Secret into this process's environment: never an argument).
#
# Environment:
#   STORE_URL      default http(s)://<the Ingress host> (https when the Ingress has TLS)
#   ORDER_RESOLVE  host=ip: reach the host at that address (an ingress reached by IP)
#   KUBECTL        default kubectl
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPTS="$(dirname "$HERE")/medusa/scripts"
NS=${1:?usage: scripts/e2e-order-medusa.sh <namespace>}
KUBECTL=${KUBECTL:-kubectl}

step() { printf '[e2e-order-medusa] %s\n' "$*" >&2; }
die() { printf '[e2e-order-medusa] FAILED: %s\n' "$*" >&2; exit 1; }
command -v node >/dev/null || die "node is not on the PATH (Node 18 or later runs the order checks)"

server=$($KUBECTL get deploy -n "$NS" -l app.kubernetes.io/component=server -o name) ||
  die "cannot list the Deployments of namespace $NS"
[ -n "$server" ] || die "namespace $NS has no Medusa server Deployment (app.kubernetes.io/component=server): is it a Medusa store?"
storefront=$($KUBECTL get deploy -n "$NS" -l app.kubernetes.io/component=storefront -o name)

step "1. rollout of $server${storefront:+ and $storefront}"
for d in $server $storefront; do
  $KUBECTL rollout status -n "$NS" "$d" --timeout=300s >&2 || die "$d is not rolled out"
done

if [ -z "${STORE_URL:-}" ]; then
  host=$($KUBECTL get ingress -n "$NS" -o jsonpath='{.items[0].spec.rules[0].host}')
  tls=$($KUBECTL get ingress -n "$NS" -o jsonpath='{.items[0].spec.tls[0].hosts[0]}')
  [ -n "$host" ] || die "no Ingress host in $NS; set STORE_URL"
  STORE_URL="http${tls:+s}://$host"
fi
email=$($KUBECTL get "$server" -n "$NS" \
  -o jsonpath='{.spec.template.spec.initContainers[?(@.name=="setup")].env[?(@.name=="MEDUSA_ADMIN_EMAIL")].value}')
[ -n "$email" ] || die "the server's setup step names no MEDUSA_ADMIN_EMAIL"
secret=$($KUBECTL get "$server" -n "$NS" \
  -o jsonpath='{.spec.template.spec.initContainers[?(@.name=="setup")].env[?(@.name=="MEDUSA_ADMIN_PASSWORD")].valueFrom.secretKeyRef.name}')
[ -n "$secret" ] || die "the server's setup step reads its admin password from no Secret"
# Into this process's environment only; the node scripts read it from there.
MEDUSA_ADMIN_PASSWORD=$($KUBECTL get secret -n "$NS" "$secret" -o jsonpath='{.data.admin-password}' | base64 -d)
[ -n "$MEDUSA_ADMIN_PASSWORD" ] || die "secret $NS/$secret has no admin-password"
export MEDUSA_ADMIN_EMAIL=$email MEDUSA_ADMIN_PASSWORD

orders=()
if command -v chromium >/dev/null && [ -d "$SCRIPTS/node_modules/playwright-core" ]; then
  step "2. an order through the storefront at $STORE_URL (headless Chromium)"
  orders+=("$(node "$SCRIPTS/order-via-storefront.mjs" "$STORE_URL")") || die "the storefront order failed (above)"
else
  step "2. skipped: no chromium or no playwright-core (npm ci --prefix medusa/scripts)"
fi
step "3. an order through the Store API at $STORE_URL"
orders+=("$(node "$SCRIPTS/order-via-store-api.mjs" "$STORE_URL")") || die "the Store API order failed (above)"

step "4. the orders in the Admin API, as $email"
for id in "${orders[@]}"; do
  out=$(node "$SCRIPTS/confirm-order-via-admin-api.mjs" "$STORE_URL" "$id") || die "order $id: the Admin API check failed (above)"
  printf '%s\n' "$out"
done
step "done: ${#orders[@]} orders placed and confirmed"
