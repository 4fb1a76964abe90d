#!/usr/bin/env bash
# Stands in for a storage provisioner (k3d's local-path one) in the sandbox,
# where no node runs containers: for every Pending PVC it creates a hostPath
# PersistentVolume pre-bound to that claim, and it removes the volumes it made
# once their claims are gone. It supplies machines, not API behaviour: binding
# itself is done by the real controller manager.
set -uo pipefail
KUBECTL=$1 KUBECONFIG_FILE=$2
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

while true; do
  kc get pvc -A --no-headers \
    -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,PHASE:.status.phase,SIZE:.spec.resources.requests.storage,CLASS:.spec.storageClassName,UID:.metadata.uid 2>/dev/null |
  while read -r ns name phase size class uid; do
    [ "$phase" = Pending ] || continue
    [ "$class" = "<none>" ] && class=""
    pv="sandbox-${uid}"
    kc get pv "$pv" >/dev/null 2>&1 && continue
    kc apply -f - >/dev/null 2>&1 <<PV
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $pv
  labels: {store-weaver.io/sandbox-volume: "true"}
spec:
  capacity: {storage: $size}
  accessModes: [ReadWriteOnce, ReadWriteMany, ReadOnlyMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: "$class"
  claimRef: {namespace: $ns, name: $name, uid: $uid}
  hostPath: {path: /tmp/store-weaver-sandbox-volumes/$pv, type: DirectoryOrCreate}
PV
  done
  # Volumes whose claims are gone.
  kc get pv -l store-weaver.io/sandbox-volume=true --no-headers \
    -o custom-columns=NAME:.metadata.name,PHASE:.status.phase 2>/dev/null |
  while read -r pv phase; do
    case "$phase" in Released|Failed) kc delete pv "$pv" --wait=false >/dev/null 2>&1 ;; esac
  done
  sleep 1
done
