# shellcheck shell=bash
# The sandbox's real node: a kubelet with containerd, runc and CNI bridge
# networking, kube-proxy, CoreDNS and a volume provisioner, next to kwok's
# simulated nodes on the same API server. Sourced by scripts/sandbox, which
# provides log, die, running, start_bg, stop_bg, wait_for, kc and the paths.
#
# Everything stays on this machine: the node's address is a bridge of its own
# (10.250.0.1, the pods' gateway), every other listener is on 127.0.0.1, pods
# may not route anywhere but that bridge, and containerd cannot pull (images
# are built locally by scripts/build-images.sh and imported).
#
# Placement: the node is tainted and labelled (REAL_TAINT, REAL_POOL below),
# so only pods that ask for it land here; everything else stays on kwok.

REAL_NODE=${SANDBOX_REAL_NODE:-1}            # 0: kwok nodes only
REAL_NODE_NAME=sandbox-real-0
REAL_POOL_LABEL=sandbox.store-weaver.dev/pool
REAL_POOL=real
REAL_TAINT_KEY=sandbox.store-weaver.dev/real-node
REAL_CLASS=sandbox-local                     # storage class of real volumes
BRIDGE=${SANDBOX_BRIDGE:-swbr0}
NODE_NET=${SANDBOX_NODE_NET:-10.250.0}       # /24: .1 is the node, pods from .10
NODE_IP="$NODE_NET.1"
NODE_DIR="$STATE/node"
# containerd's socket and state: under /run (short paths: unix sockets are
# limited to 108 bytes), gone with a reboot like the processes they belong to.
NODE_RUN=/run/store-weaver-sandbox
CONTAINERD_SOCK="$NODE_RUN/containerd.sock"
KUBELET_PORT=10250                           # on $NODE_IP (kwok has it on 127.0.0.1)
KUBELET_HEALTHZ_PORT=${SANDBOX_KUBELET_HEALTHZ_PORT:-10248}
PROXY_HEALTHZ_PORT=${SANDBOX_PROXY_HEALTHZ_PORT:-10256}
PROXY_METRICS_PORT=${SANDBOX_PROXY_METRICS_PORT:-10249}
DNS_HEALTH_PORT=${SANDBOX_DNS_HEALTH_PORT:-18080}
DNS_READY_PORT=${SANDBOX_DNS_READY_PORT:-18181}
NFT_TABLE=store_weaver_sandbox

ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# ------------------------------------------------------------------ checks
# Each missing piece is named with what to do about it.
node_preflight() {
  local missing=()
  local b
  for b in containerd containerd-shim-runc-v2 runc ctr ip nft iptables conntrack mmdebstrap; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] \
    && [ -x /usr/lib/cni/portmap ] || missing+=("CNI plugins in /usr/lib/cni")
  [ ${#missing[@]} -eq 0 ] || die "the real node needs: ${missing[*]} — run scripts/install-deps.sh (Debian packages), or SANDBOX_REAL_NODE=0 scripts/sandbox up for kwok nodes only"
  grep -qw overlay /proc/filesystems \
    || die "the kernel has no overlay filesystem (containerd's snapshotter needs it); SANDBOX_REAL_NODE=0 runs without the real node"
  [ -d /proc/sys/net/bridge ] \
    || die "the kernel has no bridge netfilter (br_netfilter): Services cannot reach pods on one bridge; SANDBOX_REAL_NODE=0 runs without the real node"
  [ -d /sys/fs/cgroup/cpu ] || [ -f /sys/fs/cgroup/cgroup.controllers ] \
    || die "no cgroup filesystem under /sys/fs/cgroup: the kubelet cannot run pods"
  nft list tables >/dev/null 2>&1 || die "nft cannot list tables (no nf_tables in this kernel, or not root)"
}

# A port some other program holds stops us with its name instead of a crash
# loop in a log.
port_free_or_ours() { # addr port name
  local addr=$1 port=$2 name=$3 holder
  running "$name" && return 0
  holder=$(ss -Hltnup "( sport = :$port )" 2>/dev/null | grep -F "$addr:$port" | head -1 || true)
  [ -z "$holder" ] || die "port $addr:$port is in use (${holder##* }); $name needs it — stop that program or set the SANDBOX_*_PORT variable in scripts/sandbox-node.sh"
}

# ------------------------------------------------------------------ certificates
ensure_node_pki() {
  local f
  for f in kubelet apiserver-kubelet-client; do
    [ -f "$PKI/$f.crt" ] && continue
    (
      cd "$PKI"
      case $f in
        # The node authorizer knows a kubelet by this name and group.
        kubelet) subj="/O=system:nodes/CN=system:node:$REAL_NODE_NAME" ;;
        # The API server's identity towards kubelets (logs, exec, port-forward).
        apiserver-kubelet-client) subj="/O=system:masters/CN=kube-apiserver-kubelet-client" ;;
      esac
      openssl req -newkey rsa:2048 -nodes -keyout "$f.key" -out "$f.csr" -subj "$subj" 2>/dev/null
      openssl x509 -req -in "$f.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$f.crt" -days 3650 \
        -extfile client.ext 2>/dev/null
      rm -f "$f.csr"
    )
  done
}

node_kubeconfig() { # user-cert-prefix -> kubeconfig on stdout
  local b64='base64 -w0'
  cat <<KC
apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $($b64 < "$PKI/ca.crt")
users:
- name: user
  user:
    client-certificate-data: $($b64 < "$PKI/$1.crt")
    client-key-data: $($b64 < "$PKI/$1.key")
contexts:
- name: sandbox
  context: {cluster: sandbox, user: user}
current-context: sandbox
KC
}

# A file written only when its content changes: kube-proxy exits when its
# config file is rewritten, even unchanged, and the others need no restart.
write_if_changed() { # path (content on stdin) -> 0 changed, 1 same
  local tmp; tmp=$(mktemp "$1.XXXX")
  cat > "$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mv -f "$tmp" "$1"; return 0
}

# ------------------------------------------------------------------ network
node_network() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge || die "cannot create the bridge $BRIDGE (ip link add ... type bridge)"
  fi
  # Output captured first: with pipefail, `... | grep -q` fails when grep
  # exits early and the writer gets SIGPIPE.
  local addrs; addrs=$(ip -4 addr show dev "$BRIDGE")
  [[ $addrs == *"inet $NODE_IP/24"* ]] || ip addr add "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Forwarding between pods and Services; the previous values are kept to
  # put back at down.
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/sysctl.saved" ] || {
    printf 'net.ipv4.ip_forward=%s\nnet.bridge.bridge-nf-call-iptables=%s\n' \
      "$(sysctl -n net.ipv4.ip_forward)" "$(sysctl -n net.bridge.bridge-nf-call-iptables)" > "$NODE_DIR/sysctl.saved"
  }
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
  # Pods reach each other, Services and the node, nothing beyond: a pod's
  # packet that would leave by another interface is dropped here.
  nft -f - <<NFT
table inet $NFT_TABLE
delete table inet $NFT_TABLE
table inet $NFT_TABLE {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "$BRIDGE" oifname != "$BRIDGE" counter drop comment "sandbox pods stay on this machine"
  }
}
NFT
}

# The kubelet's own iptables chains (canaries and KUBE-FIREWALL), then any of
# iptables' tables left with no rule at all.
kubelet_chains_down() {
  local ipt t fam
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for t in INPUT OUTPUT; do
      while "$ipt" -t filter -D "$t" -j KUBE-FIREWALL 2>/dev/null; do :; done
    done
    "$ipt" -t filter -F KUBE-FIREWALL 2>/dev/null && "$ipt" -t filter -X KUBE-FIREWALL 2>/dev/null
    for t in filter nat mangle; do
      "$ipt" -t "$t" -X KUBE-KUBELET-CANARY 2>/dev/null || true
    done
    "$ipt" -t mangle -X KUBE-IPTABLES-HINT 2>/dev/null || true
  done
  for fam in ip ip6; do
    for t in filter nat mangle; do
      local rules
      rules=$(nft list table "$fam" "$t" 2>/dev/null) || continue
      if ! awk '!/policy/ && /counter|jump|goto|accept|drop|reject|masquerade|dnat|snat/ {found = 1}
                END {exit !found}' <<<"$rules"; then
        nft delete table "$fam" "$t" 2>/dev/null || true
      fi
    done
  done
}

node_network_down() {
  nft delete table inet "$NFT_TABLE" 2>/dev/null || true
  kubelet_chains_down
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link set "$BRIDGE" down 2>/dev/null || true
    ip link delete "$BRIDGE" 2>/dev/null || true
  fi
  if [ -f "$NODE_DIR/sysctl.saved" ]; then
    sysctl -qp "$NODE_DIR/sysctl.saved" >/dev/null 2>&1 || true
    rm -f "$NODE_DIR/sysctl.saved"
  fi
}

# ------------------------------------------------------------------ containerd
node_containerd() {
  mkdir -p "$NODE_DIR/containerd" "$NODE_DIR/cni" "$NODE_RUN"
  local pause; pause=$(image_ref pause)
  write_if_changed "$NODE_DIR/containerd/config.toml" <<TOML || true
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$NODE_RUN/containerd-ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause"
  # No CAP_SYS_RESOURCE in this VM: runc may not lower oom_score_adj.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni"
TOML
  write_if_changed "$NODE_DIR/cni/10-sandbox.conflist" <<JSON || true
{
  "cniVersion": "1.0.0",
  "name": "sandbox",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$NODE_RUN/cni-ipam",
              "ranges": [[{"subnet": "$NODE_NET.0/24", "rangeStart": "$NODE_NET.10",
                           "rangeEnd": "$NODE_NET.250", "gateway": "$NODE_IP"}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
  # A pull would ask the machine's resolver for a registry's name: through
  # this proxy (nothing listens on port 9) every pull fails at once, locally.
  start_bg containerd env HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
    containerd --config "$NODE_DIR/containerd/config.toml"
  wait_for "containerd on $CONTAINERD_SOCK" 30 ctr --address "$CONTAINERD_SOCK" version
}

# The images the node runs, built from Debian packages and imported (a warm
# run imports nothing new).
node_images() {
  "$HERE/build-images.sh" build pause mariadb wordpress wp-cli postgres redis medusa
  "$HERE/build-images.sh" import "$CONTAINERD_SOCK"
}

image_ref() { # name -> reference, from the one list build-images.sh keeps
  local ref
  ref=$("$HERE/build-images.sh" refs | awk -F= -v n="$1" '$1==n {print $2}')
  [ -n "$ref" ] || die "scripts/build-images.sh names no image '$1'"
  echo "$ref"
}

# ------------------------------------------------------------------ kubelet
node_kubelet() {
  mkdir -p "$NODE_DIR/kubelet" "$NODE_DIR/pod-logs"
  node_kubeconfig kubelet | write_if_changed "$NODE_DIR/kubelet.kubeconfig" || true
  : > "$NODE_DIR/resolv.conf"
  write_if_changed "$NODE_DIR/kubelet.yaml" <<YAML || true
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# This VM runs cgroup v1: kubelet 1.37 still supports it when asked.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
resolvConf: $NODE_DIR/resolv.conf
podLogsDir: $NODE_DIR/pod-logs
maxPods: 40
serializeImagePulls: false
evictionHard: {memory.available: 200Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
# The node's images are built here and cannot be pulled again: garbage
# collection of images is off (100), or a full disk takes them (seen: at
# 99 % the pause and postgres images went and every pod stayed creating).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
registerWithTaints:
- {key: $REAL_TAINT_KEY, value: "true", effect: NoSchedule}
YAML
  start_bg kubelet "$BIN/kubelet" --config "$NODE_DIR/kubelet.yaml" \
    --kubeconfig "$NODE_DIR/kubelet.kubeconfig" --root-dir "$NODE_DIR/kubelet" \
    --cert-dir "$NODE_DIR/kubelet-pki" --hostname-override "$REAL_NODE_NAME" --node-ip "$NODE_IP" \
    --node-labels "$REAL_POOL_LABEL=$REAL_POOL" --v 1
}

# ------------------------------------------------------------------ kube-proxy
node_proxy() {
  node_kubeconfig admin | write_if_changed "$NODE_DIR/proxy.kubeconfig" || true
  if write_if_changed "$NODE_DIR/kube-proxy.yaml" <<YAML; then stop_bg kube-proxy; fi
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $NODE_DIR/proxy.kubeconfig}
hostnameOverride: $REAL_NODE_NAME
# nftables: incremental updates, so the thousands of kwok stores' Services
# in the scale tests cost little.
mode: nftables
clusterCIDR: $NODE_NET.0/24
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
nodePortAddresses: [$NODE_IP/32]
# Leave the machine's conntrack settings as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  start_bg kube-proxy "$BIN/kube-proxy" --config "$NODE_DIR/kube-proxy.yaml" --v 1
}

# ------------------------------------------------------------------ DNS, volumes
node_dns() {
  write_if_changed "$NODE_DIR/Corefile" <<CORE && stop_bg coredns || true
# cluster.local from the API server; every other name is refused (nothing
# leaves this machine).
cluster.local:53 in-addr.arpa:53 {
  bind $NODE_IP
  errors
  health 127.0.0.1:$DNS_HEALTH_PORT
  ready 127.0.0.1:$DNS_READY_PORT
  kubernetes cluster.local in-addr.arpa {
    kubeconfig $NODE_DIR/proxy.kubeconfig sandbox
    pods insecure
  }
  cache 30
}
.:53 {
  bind $NODE_IP
  errors
}
CORE
  start_bg coredns "$BIN/coredns" -conf "$NODE_DIR/Corefile"
}

node_volumes() {
  mkdir -p "$NODE_DIR/volumes"
  printf 'apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: %s
provisioner: sandbox.store-weaver.dev/local
# The volume is made on the node the scheduler picks (the real node).
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
' "$REAL_CLASS" | kc apply -f - >/dev/null
  start_bg local-provisioner "$BIN/local-provisioner" -kubeconfig "$NODE_DIR/proxy.kubeconfig" \
    -node "$REAL_NODE_NAME" -dir "$NODE_DIR/volumes" -class "$REAL_CLASS"
}

# The values a store needs to run on the real node, from the one list of
# image references: placement (the pool's label and taint), the class whose
# volumes are real, and the local images.
node_values() {
  local db wp cli
  db=$(image_ref mariadb); wp=$(image_ref wordpress); cli=$(image_ref wp-cli)
  write_if_changed "$STATE/real-node-values.yaml" <<YAML || true
# Written by scripts/sandbox: a store on the sandbox's real node. Give it to
# Store Weaver as an extra values file (extra_values_files).
nodeSelector: {$REAL_POOL_LABEL: $REAL_POOL}
tolerations:
- {key: $REAL_TAINT_KEY, operator: Exists, effect: NoSchedule}
wordpress:
  image: {repository: ${wp%:*}, tag: "${wp##*:}", pullPolicy: Never}
  persistence: {storageClass: $REAL_CLASS}
# WooCommerce and wp-cli are in no registry this machine reaches: the setup
# step would stop at its first download (docs/sandbox.md). Off, the pod
# serves WordPress core; a test turns it on to prove that boundary.
setup:
  enabled: false
  image: {repository: ${cli%:*}, tag: "${cli##*:}", pullPolicy: Never}
database:
  image: {repository: ${db%:*}, tag: "${db##*:}", pullPolicy: Never}
  persistence: {storageClass: $REAL_CLASS}
YAML
  node_values_medusa
}

# The same for a Medusa store (charts/medusa).
node_values_medusa() {
  local md pg rd
  md=$(image_ref medusa); pg=$(image_ref postgres); rd=$(image_ref redis)
  write_if_changed "$STATE/real-node-values-medusa.yaml" <<YAML || true
# Written by scripts/sandbox: a Medusa store on the sandbox's real node. Give
# it to Store Weaver as an extra values file (extra_values_files).
nodeSelector: {$REAL_POOL_LABEL: $REAL_POOL}
tolerations:
- {key: $REAL_TAINT_KEY, operator: Exists, effect: NoSchedule}
medusa:
  image: {repository: ${md%:*}, tag: "${md##*:}", pullPolicy: Never}
server:
  uploads: {storageClass: $REAL_CLASS}
postgres:
  image: {repository: ${pg%:*}, tag: "${pg##*:}", pullPolicy: Never}
  persistence: {storageClass: $REAL_CLASS}
redis:
  image: {repository: ${rd%:*}, tag: "${rd##*:}", pullPolicy: Never}
# The node's DNS is a host process on the node's address, in no pod.
networkPolicy:
  dns: {cidrs: [$NODE_IP/32]}
YAML
}

# Ready as the kubelet itself says (its health endpoint) and as the API
# server says: a node object stays Ready for a while after its kubelet stops.
node_ready() {
  curl -fsS --max-time 2 "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz" >/dev/null 2>&1 || return 1
  [ "$(kc get node "$REAL_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

node_up() {
  [ "$REAL_NODE" = 1 ] || { log "real node off (SANDBOX_REAL_NODE=0)"; return 0; }
  local t0=$SECONDS
  node_preflight
  port_free_or_ours "$NODE_IP" "$KUBELET_PORT" kubelet
  port_free_or_ours 127.0.0.1 "$KUBELET_HEALTHZ_PORT" kubelet
  port_free_or_ours 127.0.0.1 "$PROXY_HEALTHZ_PORT" kube-proxy
  port_free_or_ours 127.0.0.1 "$DNS_HEALTH_PORT" coredns
  "$HERE/build-tools.sh" node
  ensure_node_pki
  node_network
  node_containerd
  node_images
  node_kubelet
  node_proxy
  node_dns
  node_volumes
  node_values
  if ! wait_for_quiet 120 node_ready; then
    tail -20 "$LOGS/kubelet.log" >&2 || true
    die "the real node $REAL_NODE_NAME did not get Ready within 120 s (kubelet log above, all logs in $LOGS)"
  fi
  log "real node $REAL_NODE_NAME Ready in $((SECONDS - t0))s (containerd $(containerd --version | awk '{print $3}'), images: scripts/build-images.sh refs)"
}

wait_for_quiet() { # seconds cmd... -> 0 when cmd succeeds in time
  local secs=$1 i; shift
  for i in $(seq $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

# Stop everything the node started and tidy what it leaves on the machine:
# containers, mounts, network namespaces, interfaces, nft rules, sysctls.
node_down() {
  local name
  stop_bg kubelet
  for name in local-provisioner coredns; do stop_bg "$name"; done
  if running kube-proxy; then
    stop_bg kube-proxy
  fi
  [ -x "$BIN/kube-proxy" ] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  if running containerd; then
    local ids
    ids=$(ctr_ tasks ls -q 2>/dev/null || true)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      for name in $ids; do ctr_ tasks kill -s SIGKILL "$name" >/dev/null 2>&1 || true; done
      for name in $ids; do ctr_ tasks delete -f "$name" >/dev/null 2>&1 || true; done
    fi
    ids=$(ctr_ containers ls -q 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || ctr_ containers delete $ids >/dev/null 2>&1 || true
    stop_bg containerd
  fi
  # Shims left without containerd, then every mount under the node's dirs.
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true
  local m
  for m in $(awk -v a="$NODE_DIR" -v b="$NODE_RUN" 'index($2,a)==1 || index($2,b)==1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  for m in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do
    ip netns delete "$m" 2>/dev/null || true
  done
  rm -rf "$NODE_RUN"
  node_network_down
}

node_status() {
  [ "$REAL_NODE" = 1 ] || { echo "real node:               off (SANDBOX_REAL_NODE=0)"; return 0; }
  local name
  for name in containerd kubelet kube-proxy coredns local-provisioner; do
    if running "$name"; then printf '%-24s running (pid %s)\n' "$name" "$(cat "$RUN/$name.pid")"
    else printf '%-24s stopped\n' "$name"; fi
  done
  if [ -f "$KUBECONFIG_FILE" ] && api_ready 2>/dev/null; then
    kc get node "$REAL_NODE_NAME" --no-headers \
      -o custom-columns='N:.metadata.name,R:.status.conditions[?(@.type=="Ready")].status,IP:.status.addresses[?(@.type=="InternalIP")].address,RT:.status.nodeInfo.containerRuntimeVersion,K:.status.nodeInfo.kubeletVersion' \
      2>/dev/null | awk '{print "real node:               "$1" Ready="$2" "$3" "$4" kubelet "$5}'
  fi
  [ -f "$STATE/real-node-values.yaml" ] && echo "real-node values:        $STATE/real-node-values.yaml"
  if [ -f "$STATE/real-node-values-medusa.yaml" ]; then
    echo "real-node values Medusa: $STATE/real-node-values-medusa.yaml"
  fi
}
