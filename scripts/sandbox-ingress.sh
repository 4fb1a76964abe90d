# shellcheck shell=bash
# The sandbox's ingress controller: Traefik (what k3s and k3d ship), built
# from its Go module by scripts/build-tools.sh, run on this host like CoreDNS.
# It serves the Ingresses of class `traefik` on 127.0.0.1:$INGRESS_PORT and
# sends each request straight to a pod's address from the Service's
# EndpointSlices: the real node's pods are on the bridge (10.250.0.0/24),
# which this host reaches. kwok's pods have addresses nothing answers on, so
# only stores on the real node can be reached through it.
#
# Sourced by scripts/sandbox (after scripts/sandbox-node.sh), which provides
# log, die, running, start_bg, stop_bg, kc, write_if_changed, port_free_or_ours,
# wait_for_quiet and the paths.

INGRESS_PORT=${SANDBOX_INGRESS_PORT:-8088}       # http://<host>.localhost:$INGRESS_PORT/
INGRESS_PING_PORT=${SANDBOX_INGRESS_PING_PORT:-18082}
INGRESS_CLASS=traefik                            # what the store chart's values name
INGRESS_DIR="$STATE/ingress"
INGRESS_SA=sandbox-traefik                       # in kube-system, read-only

# Traefik sees the cluster through a service account of its own that may
# read what its Kubernetes Ingress provider watches (its client.go:
# Ingresses, IngressClasses, Services, EndpointSlices, Secrets for TLS,
# Nodes for NodePort load balancers) and write nothing.
ingress_rbac() {
  kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: $INGRESS_SA, namespace: kube-system}
---
# A token that does not expire, kept by the token controller; Traefik reads
# it from its kubeconfig (0600, in the sandbox's state dir).
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: $INGRESS_SA-token
  namespace: kube-system
  annotations: {kubernetes.io/service-account.name: $INGRESS_SA}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: $INGRESS_SA}
rules:
- apiGroups: [""]
  resources: [services, secrets, nodes]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, ingressclasses]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: $INGRESS_SA}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: $INGRESS_SA}
subjects:
- {kind: ServiceAccount, name: $INGRESS_SA, namespace: kube-system}
---
# The class the store chart's values name. Not the default class: an
# Ingress without a class stays without one.
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: $INGRESS_CLASS}
spec: {controller: traefik.io/ingress-controller}
YAML
}

ingress_token() {
  kc -n kube-system get secret "$INGRESS_SA-token" -o jsonpath='{.data.token}' 2>/dev/null | base64 -d
}

ingress_kubeconfig() {
  local token; token=$(ingress_token)
  [ -n "$token" ] || return 1
  cat <<KC
apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
users:
- name: $INGRESS_SA
  user: {token: $token}
contexts:
- name: sandbox
  context: {cluster: sandbox, user: $INGRESS_SA}
current-context: sandbox
KC
}

ingress_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$INGRESS_PING_PORT/ping" >/dev/null
}

ingress_up() {
  [ "$REAL_NODE" = 1 ] || { log "ingress controller off: it serves the real node's pods (SANDBOX_REAL_NODE=0)"; return 0; }
  port_free_or_ours 127.0.0.1 "$INGRESS_PORT" traefik
  port_free_or_ours 127.0.0.1 "$INGRESS_PING_PORT" traefik
  "$HERE/build-tools.sh" traefik
  mkdir -p "$INGRESS_DIR"; chmod 700 "$INGRESS_DIR"
  ingress_rbac
  wait_for_quiet 30 ingress_token \
    || die "the token of service account kube-system/$INGRESS_SA was not issued within 30 s (is kube-controller-manager running? logs in $LOGS)"
  local changed=0
  (umask 077; ingress_kubeconfig | write_if_changed "$INGRESS_DIR/kubeconfig") && changed=1
  # Traefik reads its static configuration once: a change restarts it.
  write_if_changed "$INGRESS_DIR/traefik.yaml" <<YAML && changed=1
# Written by scripts/sandbox: Traefik for the sandbox's real node.
global: {checkNewVersion: false, sendAnonymousUsage: false}
entryPoints:
  web: {address: "127.0.0.1:$INGRESS_PORT"}
  ping: {address: "127.0.0.1:$INGRESS_PING_PORT"}
ping: {entryPoint: ping}
log: {level: INFO, noColor: true}
providers:
  kubernetesIngress:
    ingressClass: $INGRESS_CLASS
    # No ingressEndpoint: Traefik would write every Ingress's status, one
    # request each (thousands for the scale tests' kwok stores); nothing in
    # Store Weaver reads it.
    # A store whose pods are not Ready yet answers 503, not 404 (as with
    # Traefik's Helm chart); and no log line per such Ingress at every
    # configuration change, which thousands of kwok stores would make.
    allowEmptyServices: true
YAML
  [ "$changed" = 0 ] || stop_bg traefik
  start_bg traefik env KUBECONFIG="$INGRESS_DIR/kubeconfig" "$BIN/traefik" --configFile="$INGRESS_DIR/traefik.yaml"
  if ! wait_for_quiet 30 ingress_healthy; then
    tail -20 "$LOGS/traefik.log" >&2 || true
    die "Traefik did not answer on 127.0.0.1:$INGRESS_PING_PORT/ping within 30 s (its log above, $LOGS/traefik.log)"
  fi
  log "Traefik $("$BIN/traefik" version 2>/dev/null | awk '$1 == "Version:" {print $2}') serves Ingresses of class $INGRESS_CLASS on http://<host>.localhost:$INGRESS_PORT/"
}

ingress_down() { stop_bg traefik; }

ingress_status() {
  [ "$REAL_NODE" = 1 ] || return 0
  if running traefik; then
    printf '%-24s running (pid %s), http://<host>.localhost:%s/%s\n' traefik "$(cat "$RUN/traefik.pid")" \
      "$INGRESS_PORT" "$(ingress_healthy 2>/dev/null && echo '' || echo ' (not answering its ping)')"
  else printf '%-24s stopped\n' traefik; fi
}

# Lines for the env file: where a test or a person reaches the Ingresses.
ingress_env() {
  [ "$REAL_NODE" = 1 ] || return 0
  printf "export SANDBOX_INGRESS_PORT='%s'\nexport SANDBOX_INGRESS_URL='http://127.0.0.1:%s'\n" "$INGRESS_PORT" "$INGRESS_PORT"
}
