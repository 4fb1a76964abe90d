# shellcheck shell=bash
# The sandbox's object store, where Store Weaver's backups go: Versity's S3
# gateway (versitygw, a production S3 server over a POSIX directory), built
# from its Go module by scripts/build-tools.sh and run on this host. It
# answers path-style, SigV4-signed S3 requests on 127.0.0.1:$S3_PORT, region
# $S3_REGION, and keeps its objects as files under $S3_DIR/data (one
# directory per bucket, metadata in extended attributes).
#
# Its credentials are generated once per sandbox into $S3_DIR/credentials
# (0600) and reach the server through its environment, never its arguments.
# The bucket $S3_BUCKET is created at every start (idempotent) with a signed
# request by scripts/sandbox-s3.py (Python's standard library only).
#
# Sourced by scripts/sandbox (after scripts/sandbox-node.sh), which provides
# log, die, running, start_bg, stop_bg, port_free_or_ours, write_if_changed,
# wait_for_quiet and the paths.

S3_PORT=${SANDBOX_S3_PORT:-19000}
S3_REGION=us-east-1
S3_BUCKET=store-weaver-backups
S3_DIR="$STATE/s3"
S3_HEALTH=/_health       # no bucket name starts with "_", so none is hidden
S3_ENDPOINT="http://127.0.0.1:$S3_PORT"

# Keys in the shape AWS uses (20 and 40 characters), alphanumeric so that
# they need no quoting anywhere. Written once; kept across restarts so the
# data stays readable with them.
s3_credentials() {
  mkdir -p "$S3_DIR"; chmod 700 "$S3_DIR"
  if [ ! -s "$S3_DIR/credentials" ]; then
    local key secret
    key=$(head -c 256 /dev/urandom | tr -dc 'A-Z0-9' | head -c 20)
    secret=$(head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 40)
    [ ${#key} = 20 ] && [ ${#secret} = 40 ] || die "could not generate the object store's credentials from /dev/urandom"
    (umask 077; printf 'access_key_id=%s\nsecret_access_key=%s\n' "$key" "$secret" > "$S3_DIR/credentials.tmp")
    mv -f "$S3_DIR/credentials.tmp" "$S3_DIR/credentials"
  fi
  chmod 600 "$S3_DIR/credentials"
  S3_ACCESS_KEY_ID=$(sed -n 's/^access_key_id=//p' "$S3_DIR/credentials")
  S3_SECRET_ACCESS_KEY=$(sed -n 's/^secret_access_key=//p' "$S3_DIR/credentials")
  [ -n "$S3_ACCESS_KEY_ID" ] && [ -n "$S3_SECRET_ACCESS_KEY" ] \
    || die "$S3_DIR/credentials is damaged (want access_key_id= and secret_access_key= lines): delete it and the object store's data ($S3_DIR/data) and run scripts/sandbox s3-up"
}

s3_healthy() {
  curl -fsS --max-time 2 -o /dev/null "$S3_ENDPOINT$S3_HEALTH"
}

s3_version() {
  [ -x "$BIN/versitygw" ] && "$BIN/versitygw" --version 2>/dev/null | awk '$1 == "Version" {print $3; exit}'
}

# The client script with the credentials in its environment (a subshell's
# exports: not in any process's arguments).
s3_client() {
  (
    export SANDBOX_S3_ENDPOINT="$S3_ENDPOINT" SANDBOX_S3_REGION="$S3_REGION" \
      SANDBOX_S3_ACCESS_KEY_ID="$S3_ACCESS_KEY_ID" SANDBOX_S3_SECRET_ACCESS_KEY="$S3_SECRET_ACCESS_KEY"
    python3 "$HERE/sandbox-s3.py" "$@"
  )
}

s3_up() {
  port_free_or_ours 127.0.0.1 "$S3_PORT" versitygw
  "$HERE/build-tools.sh" s3
  s3_credentials
  mkdir -p "$S3_DIR/data"
  local args=(--port "127.0.0.1:$S3_PORT" --region "$S3_REGION" --health "$S3_HEALTH" --quiet
    posix "$S3_DIR/data")
  # A change of arguments or credentials restarts the server; the record
  # holds a hash of the credentials, not them.
  { printf '%s\n' "${args[@]}"; sha256sum < "$S3_DIR/credentials"; } \
    | write_if_changed "$S3_DIR/running-with" && stop_bg versitygw
  (
    export ROOT_ACCESS_KEY_ID="$S3_ACCESS_KEY_ID" ROOT_SECRET_ACCESS_KEY="$S3_SECRET_ACCESS_KEY"
    start_bg versitygw "$BIN/versitygw" "${args[@]}"
  )
  if ! wait_for_quiet 30 s3_healthy; then
    tail -20 "$LOGS/versitygw.log" >&2 || true
    die "the object store (versitygw) did not answer on $S3_ENDPOINT$S3_HEALTH within 30 s (its log above, $LOGS/versitygw.log)"
  fi
  s3_client mkbucket "$S3_BUCKET" \
    || die "could not create the bucket $S3_BUCKET on $S3_ENDPOINT (the error above; server log $LOGS/versitygw.log)"
  log "versitygw $(s3_version) serves S3 on $S3_ENDPOINT (path-style, region $S3_REGION, bucket $S3_BUCKET, data in $S3_DIR/data)"
}

s3_down() { stop_bg versitygw; }

s3_status() {
  if running versitygw; then
    printf '%-24s running (pid %s), %s %s, bucket %s, region %s%s\n' "versitygw (S3)" "$(cat "$RUN/versitygw.pid")" \
      "$(s3_version)" "$S3_ENDPOINT" "$S3_BUCKET" "$S3_REGION" "$(s3_healthy 2>/dev/null || echo ' (not answering)')"
  else printf '%-24s stopped\n' "versitygw (S3)"; fi
}

# Lines for the env file: where a test or a person reaches the object store.
# The env file is 0600 local state, like the database password in it.
s3_env() {
  [ -s "$S3_DIR/credentials" ] || return 0
  s3_credentials
  printf "export SANDBOX_S3_ENDPOINT='%s'\nexport SANDBOX_S3_BUCKET='%s'\nexport SANDBOX_S3_REGION='%s'\n" \
    "$S3_ENDPOINT" "$S3_BUCKET" "$S3_REGION"
  printf "export SANDBOX_S3_ACCESS_KEY_ID='%s'\nexport SANDBOX_S3_SECRET_ACCESS_KEY='%s'\n" \
    "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
}
