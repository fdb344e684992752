#!/usr/bin/env python3
"""Render the k8s Envoy config from envoy/envoy.yaml (the single source of truth).

envoy/envoy.yaml lists the relay hosts relay-0..relay-1.relay.internal (two, as in compose). In
k8s the StatefulSet scales up to KEDA's maxReplicaCount, so every cluster whose endpoints are
relay-N.relay.internal gets one endpoint per ordinal 0..N-1, copied from relay-0's entry with the
host name and envoy.lb hash_key changed. Ordinals that do not exist yet resolve to nothing
(STRICT_DNS), so they carry no traffic until the pod is ready.

usage: python3 deploy/k8s/render-envoy-config.py [--replicas N] [--configmap] envoy/envoy.yaml > out.yaml
"""
import argparse
import copy
import re
import sys

import yaml

HOST = re.compile(r"^relay-(\d+)\.relay\.internal$")


def endpoint_host(lb_endpoint):
    return lb_endpoint.get("endpoint", {}).get("address", {}).get("socket_address", {}).get("address", "")


def expand(config, replicas):
    touched = []
    for cluster in config.get("static_resources", {}).get("clusters", []):
        cla = cluster.get("load_assignment") or {}
        for locality in cla.get("endpoints", []):
            lbs = locality.get("lb_endpoints", [])
            relay = [e for e in lbs if HOST.match(endpoint_host(e))]
            if not relay:
                continue
            template = min(relay, key=lambda e: int(HOST.match(endpoint_host(e)).group(1)))
            others = [e for e in lbs if not HOST.match(endpoint_host(e))]
            expanded = []
            for i in range(replicas):
                e = copy.deepcopy(template)
                e["endpoint"]["address"]["socket_address"]["address"] = f"relay-{i}.relay.internal"
                lb = e.get("metadata", {}).get("filter_metadata", {}).get("envoy.lb")
                if isinstance(lb, dict) and "hash_key" in lb:
                    lb["hash_key"] = f"relay-{i}"
                expanded.append(e)
            locality["lb_endpoints"] = others + expanded
            touched.append(cluster["name"])
    if not touched:
        raise SystemExit("render-envoy-config: no cluster has relay-N.relay.internal endpoints")
    return touched


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("envoy_yaml")
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--configmap", action="store_true", help="wrap in a ConfigMap envoy-config")
    args = ap.parse_args()
    with open(args.envoy_yaml, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    touched = expand(config, args.replicas)
    rendered = yaml.safe_dump(config, sort_keys=False)
    if args.configmap:
        out = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "envoy-config", "namespace": "checkmate-relay"},
            "data": {"envoy.yaml": rendered},
        }
        sys.stdout.write(yaml.safe_dump(out, sort_keys=False))
    else:
        sys.stdout.write(rendered)
    print(f"render-envoy-config: {', '.join(touched)} -> {args.replicas} relay endpoints", file=sys.stderr)


if __name__ == "__main__":
    main()
