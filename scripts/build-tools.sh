#!/usr/bin/env bash
# Builds the local sandbox's binaries from Go modules (the only place we may
# download from) and caches them outside the clone, keyed by version, so a
# second run takes seconds. Prints nothing but progress; idempotent.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.37.2}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
KWOK_VERSION=${KWOK_VERSION:-0.8.0}
HELM_VERSION=${HELM_VERSION:-3.22.0}
COREDNS_VERSION=${COREDNS_VERSION:-1.15.0}
TRAEFIK_VERSION=${TRAEFIK_VERSION:-3.6.12}
VERSITYGW_VERSION=${VERSITYGW_VERSION:-1.8.0}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${STORE_WEAVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/store-weaver}
BIN="$CACHE/bin"
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$BIN"

log() { printf '[build-tools] %s\n' "$*" >&2; }

# A marker file per component and version: present only after a complete build.
have() { [ -f "$BIN/.$1-$2" ]; }
done_mark() { touch "$BIN/.$1-$2"; }

build_k8s() {
  have k8s "$K8S_VERSION" && return 0
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl v$K8S_VERSION (cold: tens of minutes)"
  local dir="$CACHE/src/k8s-$K8S_VERSION" staging="v0.${K8S_VERSION#1.}"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init local/k8s >/dev/null 2>&1
  go mod download k8s.io/kubernetes@"v$K8S_VERSION"
  local mod
  mod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod"
  # Every k8s.io/* module that k8s.io/kubernetes requires at v0.0.0 is a
  # staging module that its own go.mod replaces with a local path.
  local m
  for m in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$mod" | sort -u); do
    go mod edit -replace="$m=$m@$staging"
  done
  # The go directive must be at least the one kubernetes asks for.
  local gov
  gov=$(awk '$1 == "go" {print $2; exit}' "$mod")
  go mod edit -go="$gov"
  go get k8s.io/kubernetes@"v$K8S_VERSION"
  local V=k8s.io/component-base/version minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  go build -trimpath -o "$BIN/" \
    -ldflags "-s -w -X $V.gitVersion=v$K8S_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$minor -X $V.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
  done_mark k8s "$K8S_VERSION"
  done_mark kubectl "$K8S_VERSION"
}

# kubectl for the sandbox scripts and for operators; built from the same
# module tree as the server binaries, so it reuses their compiled packages.
build_kubectl() {
  have kubectl "$K8S_VERSION" && return 0
  build_k8s
  have kubectl "$K8S_VERSION" && return 0
  log "building kubectl v$K8S_VERSION"
  cd "$CACHE/src/k8s-$K8S_VERSION"
  go build -trimpath -o "$BIN/" -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION" \
    k8s.io/kubernetes/cmd/kubectl
  done_mark kubectl "$K8S_VERSION"
}

build_etcd() {
  have etcd "$ETCD_VERSION" && return 0
  log "building etcd v$ETCD_VERSION"
  local dir="$CACHE/src/etcd-$ETCD_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init local/etcd >/dev/null 2>&1
  # The etcd server's main lives in etcdmain; its own go.mod replaces the
  # sibling modules with local paths, so we wrap it in a module of our own.
  cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get go.etcd.io/etcd/server/v3@"v$ETCD_VERSION"
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" .
  done_mark etcd "$ETCD_VERSION"
}

build_kwok() {
  if ! have kwok "$KWOK_VERSION"; then
    log "building kwok v$KWOK_VERSION"
    GOBIN="$BIN" go install -trimpath -ldflags "-s -w" sigs.k8s.io/kwok/cmd/kwok@"v$KWOK_VERSION"
    done_mark kwok "$KWOK_VERSION"
  fi
  # kwok's own stage definitions (node heartbeat, pod readiness, volume
  # provisioning) ship in its module; keep the ones the sandbox uses.
  local stages="$CACHE/kwok-stages-$KWOK_VERSION"
  [ -f "$stages/.done" ] && return 0
  local src
  src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage"
  [ -d "$src" ] || go mod download -x sigs.k8s.io/kwok@"v$KWOK_VERSION" >/dev/null 2>&1 || true
  [ -d "$src" ] || { log "kwok's stage files are missing from $src"; return 1; }
  rm -rf "$stages"; mkdir -p "$stages"
  cp "$src"/node/fast/node-initialize.yaml "$src"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
     "$src"/pod/fast/pod-ready.yaml "$src"/pod/fast/pod-complete.yaml "$src"/pod/fast/pod-delete.yaml \
     "$src"/volume/fast/pv-bind.yaml "$src"/volume/fast/pv-delete.yaml "$src"/volume/fast/pvc-provision.yaml \
     "$src"/volume/fast/pvc-delete.yaml "$stages"/
  chmod 644 "$stages"/*.yaml
  touch "$stages/.done"
}

build_helm() {
  # The "-b2" marks a build with the Kubernetes version stamped in, as helm's
  # own Makefile does: without it offline `helm template`/`lint` assume v1.20
  # and refuse charts that declare a kubeVersion.
  have helm "$HELM_VERSION-b2" && return 0
  log "building helm v$HELM_VERSION"
  local minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  GOBIN="$BIN" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" \
    helm.sh/helm/v3/cmd/helm@"v$HELM_VERSION"
  done_mark helm "$HELM_VERSION-b2"
}

# The real node's programs: kubelet and kube-proxy from the control plane's
# module tree (they reuse its compiled packages: ~30 s after it), and the
# sandbox's own volume provisioner (scripts/sandbox-go), built in the same
# module so it shares client-go. The marker carries a hash of the
# provisioner's source, so a change to it rebuilds.
build_node() {
  local src="$HERE/sandbox-go/local-provisioner/main.go" key
  key="$K8S_VERSION-$(sha256sum "$src" | cut -c1-12)"
  have node "$key" && return 0
  build_k8s
  log "building kubelet, kube-proxy v$K8S_VERSION and the sandbox's local-provisioner"
  local dir="$CACHE/src/k8s-$K8S_VERSION"
  mkdir -p "$dir/local-provisioner"
  cp "$src" "$dir/local-provisioner/main.go"
  cd "$dir"
  local V=k8s.io/component-base/version minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  go build -trimpath -o "$BIN/" \
    -ldflags "-s -w -X $V.gitVersion=v$K8S_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$minor -X $V.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy ./local-provisioner
  rm -f "$BIN"/.node-"$K8S_VERSION"-*
  done_mark node "$key"
}

# CoreDNS with only the plugins the sandbox needs (scripts/sandbox-go/coredns).
build_coredns() {
  local src="$HERE/sandbox-go/coredns/main.go" key
  key="$COREDNS_VERSION-$(sha256sum "$src" | cut -c1-12)"
  have coredns "$key" && return 0
  log "building CoreDNS v$COREDNS_VERSION (cold: a few minutes)"
  local dir="$CACHE/src/coredns-$COREDNS_VERSION"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init local/coredns >/dev/null 2>&1
  cp "$src" main.go
  go get github.com/coredns/coredns@"v$COREDNS_VERSION"
  go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$BIN/coredns" .
  rm -f "$BIN"/.coredns-"$COREDNS_VERSION"-*
  done_mark coredns "$key"
}

# Traefik, the ingress controller k3s and k3d ship, from its Go module. Its
# go.mod replaces modules (forks of its own, and a local directory for
# github.com/traefik/traefik/dynamic/ext, a nested module that the module
# zip leaves out), which only the main module's go.mod may do: a wrapper
# module repeats the remote replaces and excludes, and supplies the local
# one itself (below).
build_traefik() {
  have traefik "$TRAEFIK_VERSION" && return 0
  log "building Traefik v$TRAEFIK_VERSION (cold: several minutes)"
  local dir="$CACHE/src/traefik-$TRAEFIK_VERSION" mod="github.com/traefik/traefik/v3"
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  go mod init local/traefik >/dev/null 2>&1
  go mod download "$mod@v$TRAEFIK_VERSION"
  local gomod
  gomod="$(go env GOMODCACHE)/cache/download/$mod/@v/v$TRAEFIK_VERSION.mod"
  go mod edit -go="$(awk '$1 == "go" {print $2; exit}' "$gomod")"
  # "old => new version" lines, in a replace block or on their own.
  local old new ver
  while read -r old new ver; do
    case "$new" in
      ./*|../*)
        [ "$old" = github.com/traefik/traefik/dynamic/ext ] \
          || { log "Traefik's go.mod replaces $old with a local path this script does not know ($new)"; return 1; }
        traefik_ext "$dir/ext"
        go mod edit -replace="$old=./ext" ;;
      *) go mod edit -replace="$old=$new${ver:+@$ver}" ;;
    esac
  done < <(awk '/^replace \($/ {b = 1; next} b && /^\)/ {b = 0; next}
                /=>/ && (b || $1 == "replace") {sub(/^replace[ \t]+/, ""); sub(/\/\/.*/, "");
                  split($0, p, "=>"); split(p[1], o, " "); split(p[2], n, " "); print o[1], n[1], n[2]}' "$gomod")
  local ex
  for ex in $(awk '$1 == "exclude" && NF == 3 {print $2 "@" $3}' "$gomod"); do go mod edit -exclude="$ex"; done
  go get "$mod/cmd/traefik@v$TRAEFIK_VERSION"
  go build -trimpath -ldflags "-s -w -X $mod/pkg/version.Version=v$TRAEFIK_VERSION" -o "$BIN/traefik" "$mod/cmd/traefik"
  done_mark traefik "$TRAEFIK_VERSION"
}

# The extension point Traefik's open-source build compiles against
# (pkg/config/dynamic: dynamic.HTTP and dynamic.Router embed ext.HTTP and
# ext.Router inline); in the open-source tree both are empty structs.
traefik_ext() {
  mkdir -p "$1"
  printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' > "$1/go.mod"
  cat > "$1/ext.go" <<'GO'
// Package ext: the empty extension types of Traefik's open-source build.
package ext

// HTTP is embedded in dynamic.HTTP.
type HTTP struct{}

// Router is embedded in dynamic.Router.
type Router struct{}
GO
}

# The sandbox's object store: Versity's S3 gateway (scripts/sandbox-s3.sh).
# Its go.mod replaces nothing, so a plain `go install` of the tagged
# version builds it (cold: under a minute or two of CPU).
build_s3() {
  have versitygw "$VERSITYGW_VERSION" && return 0
  log "building versitygw v$VERSITYGW_VERSION (cold: a minute or two)"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w -X main.Version=v$VERSITYGW_VERSION" \
    github.com/versity/versitygw/cmd/versitygw@"v$VERSITYGW_VERSION"
  done_mark versitygw "$VERSITYGW_VERSION"
}

what=${1:-all}
case "$what" in
  all) build_helm; build_kwok; build_etcd; build_k8s; build_kubectl ;;
  node) build_node; build_coredns; build_traefik ;;
  k8s|kubectl|etcd|kwok|helm|coredns|traefik|s3) "build_$what" ;;
  *) echo "usage: $0 [all|node|k8s|kubectl|etcd|kwok|helm|coredns|traefik|s3]" >&2; exit 2 ;;
esac
log "binaries in $BIN"
