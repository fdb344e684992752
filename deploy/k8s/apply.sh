#!/usr/bin/env bash
# Apply one region of CheckMate Relay to the k3s cluster in $KUBECONFIG.
# Prerequisites (infra/README.md): KEDA installed, Secrets envoy-tls, relay-verify-keys,
# relay-nats-creds, nats-tls, nats-auth created; nats-gateways edited for this region.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
replicas="$(python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["spec"]["maxReplicaCount"])' "$here/keda-scaledobject.yaml")"

kubectl apply -f "$here/namespace.yaml"
python3 "$here/render-envoy-config.py" --configmap --replicas "$replicas" "$root/envoy/envoy.yaml" | kubectl apply -f -
kubectl -n checkmate-relay create configmap otel-collector-config \
  --from-file=config.yaml="$root/otel/collector.yaml" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -k "$here"
kubectl -n kube-system rollout restart deployment/coredns   # pick up coredns-custom
kubectl -n checkmate-relay rollout status statefulset/relay --timeout=10m
