#!/usr/bin/env bash
# Debian packages the sandbox and the tests use, installed when missing.
# (The Rust, Go and Node toolchains come with the machine.)
set -euo pipefail
need=()
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
command -v tmux >/dev/null || need+=(tmux)
# The store chart's mu-plugin test (tests/chart.rs) runs under php-cli.
command -v php >/dev/null || need+=(php-cli)
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
[ -d /usr/lib/postgresql ] || need+=(postgresql)
if [ -d "$(dirname "$0")/../dashboard" ] && [ -f "$(dirname "$0")/../dashboard/package.json" ]; then
  command -v chromium >/dev/null || need+=(chromium)
fi
# The sandbox's real node (scripts/sandbox-node.sh) and its images
# (scripts/build-images.sh); SANDBOX_REAL_NODE=0 skips them.
if [ "${SANDBOX_REAL_NODE:-1}" = 1 ]; then
  command -v containerd >/dev/null || need+=(containerd)
  command -v runc >/dev/null || need+=(runc)
  [ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
  command -v iptables >/dev/null || need+=(iptables)
  command -v nft >/dev/null || need+=(nftables)
  command -v conntrack >/dev/null || need+=(conntrack)
  command -v ip >/dev/null || need+=(iproute2)
  command -v ss >/dev/null || need+=(iproute2)
  command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
fi
fc-list 2>/dev/null | grep -qi "DejaVu Sans Mono" || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  echo "[install-deps] installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for tool in cargo go; do
  command -v "$tool" >/dev/null || { echo "[install-deps] $tool is missing: install the $tool toolchain" >&2; exit 1; }
done
