#!/usr/bin/env bash
# Rewrites what is generated from the HTTP API's code: dashboard/openapi.json
# (the OpenAPI document utoipa derives from the handlers, see docs/api.md
# "The OpenAPI document") and, from it, the dashboard's TypeScript types
# dashboard/src/api.gen.ts (openapi-typescript). Commit both; the tests fail
# while either is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
UPDATE_OPENAPI=1 cargo test --quiet --lib serve::openapi::tests::the_committed_document_is_current >/dev/null
echo "[gen-api-types] dashboard/openapi.json written" >&2
(cd dashboard && node scripts/api-types.mjs --write)
