#!/usr/bin/env bash
# The dashboard end-to-end test on its own: brings the sandbox up if needed,
# builds the dashboard, then runs tests/dashboard_e2e.rs (the real
# `store-weaver --serve`, real PostgreSQL and Kubernetes, headless Chromium).
# Screenshots land in screenshots/dashboard-*.png.
#
#   scripts/test-dashboard-e2e.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ] || [ -z "${KUBECONFIG:-}" ]; then
  scripts/sandbox up >&2
  # shellcheck disable=SC1090
  source "$(scripts/sandbox env-file)"
fi
command -v chromium >/dev/null || { echo "chromium is missing: run scripts/install-deps.sh" >&2; exit 1; }
scripts/build-dashboard.sh
exec cargo test --test dashboard_e2e "$@" -- --nocapture
