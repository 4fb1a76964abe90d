#!/usr/bin/env bash
# Builds the web dashboard (dashboard/) into dashboard/dist, which
# `store-weaver --serve` embeds, and runs ESLint and its Vitest unit tests. The build
# first checks that the generated API types (src/api.gen.ts) are what
# openapi.json gives, then type-checks with tsc.
#
#   scripts/build-dashboard.sh            install (if needed), build (if needed), unit tests
#   scripts/build-dashboard.sh --test     the same, and run the unit tests even if nothing changed
#   scripts/build-dashboard.sh --no-test  install and build only
#   scripts/build-dashboard.sh --force    rebuild and retest whatever the stamps say
#
# Quiet and fast when nothing changed: npm dependencies are installed (`npm ci`
# from the committed lock file) only when the lock file changed, the build runs
# only when a source file changed, and the unit tests are skipped when they
# already passed on exactly these sources (their remembered summary is printed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/dashboard"
tests=auto force=0
for a in "$@"; do
  case "$a" in
    --test) tests=always ;;
    --no-test) tests=never ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build-dashboard: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "[dashboard] $*" >&2; }
[ -f "$dir/package.json" ] || { say "no dashboard/package.json: nothing to build"; exit 0; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  say "node and npm are needed to build the dashboard (Node >= 20.19)"
  exit 1
fi
cd "$dir"
log="$(mktemp -t sw-dashboard.XXXXXX)"
trap 'rm -f "$log"' EXIT
run_quiet() { # run a command, show its output only when it fails
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    say "failed: $*"
    exit 1
  fi
}
hash_of() { # content hash of files and directories (sorted, stable)
  find "$@" -type f 2>/dev/null | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum | cut -c1-32
}

# 1. Dependencies.
if [ -f package-lock.json ]; then
  dep_hash="$(hash_of package.json package-lock.json)"
  install=(npm ci --no-audit --no-fund --loglevel=error)
else
  dep_hash="$(hash_of package.json)"
  install=(npm install --no-audit --no-fund --loglevel=error)
fi
dep_stamp=node_modules/.store-weaver-deps
if [ "$force" = 1 ] || [ ! -f "$dep_stamp" ] || [ "$(cat "$dep_stamp")" != "$dep_hash" ]; then
  say "installing npm dependencies (${install[*]:0:2})"
  t0=$SECONDS
  run_quiet "${install[@]}"
  echo "$dep_hash" >"$dep_stamp"
  say "dependencies installed in $((SECONDS - t0))s"
fi

# 2. Build.
# openapi.json and scripts/ too: the build checks that src/api.gen.ts is what
# openapi.json gives (generated API types current; see docs/api.md).
src_hash="$(hash_of src public scripts e2e index.html openapi.json eslint.config.js vite.config.ts tsconfig.json package.json package-lock.json)"
build_stamp=node_modules/.store-weaver-build
if [ "$force" = 1 ] || [ ! -f dist/index.html ] || [ ! -f "$build_stamp" ] || [ "$(cat "$build_stamp")" != "$src_hash" ]; then
  t0=$SECONDS
  run_quiet npm run --silent build
  echo "$src_hash" >"$build_stamp"
  say "built dashboard/dist in $((SECONDS - t0))s"
fi

# 3. Unit tests (Vitest).
[ "$tests" = never ] && exit 0
test_stamp=node_modules/.store-weaver-tests
if [ "$tests" = auto ] && [ "$force" = 0 ] && [ -f "$test_stamp" ] && [ "$(head -1 "$test_stamp")" = "$src_hash" ]; then
  say "unit tests unchanged since they passed: $(tail -1 "$test_stamp")"
  exit 0
fi
# ESLint (with React's hooks rules) first: a warning fails too.
if ! npx --no-install eslint --max-warnings 0 . >"$log" 2>&1; then
  cat "$log" >&2
  say "eslint FAILED (npm run lint in dashboard/)"
  exit 1
fi
say "eslint: no problems"
if ! NO_COLOR=1 FORCE_COLOR=0 npx --no-install vitest run --reporter=dot >"$log" 2>&1; then
  cat "$log" >&2
  say "unit tests FAILED"
  exit 1
fi
summary="$(grep -E '^\s*Tests\s' "$log" | tail -1 | sed -E 's/^\s+//; s/\s+/ /g')"
files="$(grep -E '^\s*Test Files\s' "$log" | tail -1 | sed -E 's/^\s+//; s/\s+/ /g')"
printf '%s\n%s\n' "$src_hash" "vitest: $summary; $files" >"$test_stamp"
say "vitest: $summary; $files"
