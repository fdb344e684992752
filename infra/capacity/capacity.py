#!/usr/bin/env python3
"""Capacity calculator: the relay fleet for a number of daily users, from measured per-node figures.

Reads infra/capacity/figures.json (the same file infra/terraform/modules/sizing reads) and the
assumptions given on the command line; prints nodes per region and what limits them, NATS per
region, memory, bandwidth, cost, a sensitivity table and what breaks first. docs/capacity.md
explains the model; its tables are this script's --markdown output.

    python3 infra/capacity/capacity.py                         # the worked example (8 billion daily users)
    python3 infra/capacity/capacity.py --daily-users 5e7 --sessions-per-user 3 --regions eu=0.6,us=0.4
    python3 infra/capacity/capacity.py --markdown              # the tables of docs/capacity.md
    python3 infra/capacity/capacity.py --terraform-vars        # the same inputs for modules/sizing (infra/check.sh)

Only the Python standard library. Node arithmetic uses exact fractions, as Terraform does, so both
give the same integers.
"""

import argparse
import dataclasses
import json
import math
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIGURES = HERE / "figures.json"
DOCS = HERE.parent.parent / "docs" / "capacity.md"
BEGIN = "<!-- BEGIN tables: python3 infra/capacity/capacity.py --update-docs -->"
END = "<!-- END tables -->"

# Hostinger KVM line-up: (vCPUs, memory MiB). The same table as infra/terraform/modules/sizing.
PLANS = {"kvm1": (1, 4096), "kvm2": (2, 8192), "kvm4": (4, 16384), "kvm8": (8, 32768)}

DEFAULT_REGIONS = "in=0.22,sg=0.18,id=0.10,eu=0.20,us=0.18,br=0.12"


def frac(x):
    """An exact fraction of a number as written (0.05 is 1/20, not the nearest float)."""
    return Fraction(str(x)) if isinstance(x, float) else Fraction(x)


@dataclasses.dataclass(frozen=True)
class Assumptions:
    daily_users: float = 8e9
    sessions_per_user: float = 2
    session_seconds: float = 10
    round_trips: int = 4
    payload_bytes: int = 256
    peak_to_average: float = 3
    cross_node_share: float = 0.05
    regions: tuple = tuple((k, float(v)) for k, v in (p.split("=") for p in DEFAULT_REGIONS.split(",")))
    plan: str = "kvm2"
    system_reserved_mib: int = 1536
    relay_pod_memory_mib: int = 2048
    heap_percent: int = 60
    headroom: float = 0.5
    relay_cpu_share: float = 0.5
    spare_nodes: int = 1
    min_nodes: int = 2
    connections: str = "dedicated"  # or "shared": gRPC participants multiplexed behind Envoy
    ticket_ttl_seconds: float = None  # None: the relay's default (figures.json)
    cpu_us_per_session: float = None  # None: figures.json
    nats_server_cores: float = 2
    nats_server_memory_gib: float = 4
    price_usd: float = None

    @property
    def frames(self):
        return 2 * self.round_trips


def load_figures(path=FIGURES):
    with open(path, encoding="utf-8") as f:
        fig = json.load(f)
    for section in ("measured", "configuration", "assumptions"):
        for name, entry in fig[section].items():
            if "value" not in entry or "unit" not in entry:
                raise ValueError(f"figures.json: {section}.{name} needs a value and a unit")
    for name, entry in fig["measured"].items():
        if entry.get("status") == "measured" and not entry.get("command"):
            raise ValueError(f"figures.json: measured figure {name} names no command")
        if entry.get("status") != "measured" and not entry.get("replace_with"):
            raise ValueError(f"figures.json: provisional figure {name} says nothing about what replaces it")
    return fig


def v(fig, section, name):
    return fig[section][name]["value"]


def node(fig, a):
    """Per-node capacity: exactly the arithmetic of infra/terraform/modules/sizing/main.tf."""
    vcpus, memory_mib = PLANS[a.plan]
    headroom = frac(a.headroom)
    heap_bytes = v(fig, "measured", "heap_bytes_per_idle_session" if a.connections == "dedicated"
                   else "heap_bytes_per_idle_session_shared")
    direct_bytes = v(fig, "assumptions", "direct_bytes_per_session")
    pods = max(0, math.floor(Fraction(memory_mib - a.system_reserved_mib, a.relay_pod_memory_mib)))
    pod_heap_mib = math.floor(frac(a.relay_pod_memory_mib) * a.heap_percent / 100)
    by_heap = math.floor(Fraction(pod_heap_mib * 1048576, heap_bytes) * (1 - headroom))
    direct_budget = math.floor(Fraction(a.relay_pod_memory_mib - pod_heap_mib, 2))
    by_direct = by_heap if direct_bytes == 0 else math.floor(Fraction(direct_budget * 1048576, direct_bytes) * (1 - headroom))
    pod_sessions = min(by_heap, by_direct)
    edge = v(fig, "configuration", "edge_max_connections_per_node")
    by_edge = math.floor(frac(edge) * (1 - headroom) / v(fig, "configuration", "connections_per_session"))
    measured_session = frac(a.cpu_us_per_session if a.cpu_us_per_session is not None else v(fig, "measured", "cpu_us_per_session"))
    per_frame = frac(v(fig, "measured", "cpu_us_per_frame"))
    factor = frac(v(fig, "assumptions", "cross_node_cpu_factor"))
    cpu_us = (measured_session - v(fig, "configuration", "w8_frames_per_session") * per_frame
              + a.frames * per_frame * (1 + frac(a.cross_node_share) * (factor - 1)))
    rate = math.floor(vcpus * frac(a.relay_cpu_share) * 1000000 / cpu_us)
    return {
        "vcpus": vcpus, "memory_mib": memory_mib, "pods_per_node": pods, "pod_heap_mib": pod_heap_mib,
        "heap_bytes_per_session": heap_bytes, "sessions_per_pod": pod_sessions, "sessions_per_node": pods * pod_sessions,
        "sessions_per_node_by_edge": by_edge, "cpu_us_per_session": cpu_us, "node_session_rate": rate,
    }


def fleet(fig, a):
    """The whole model for one set of assumptions."""
    n = node(fig, a)
    shares = dict(a.regions)
    total = sum(shares.values())
    if abs(total - 1) > 1e-9:
        raise ValueError(f"region shares add up to {total}, not 1")
    per_day = a.daily_users * a.sessions_per_user
    avg_rate = per_day / 86400
    peak_rate = avg_rate * a.peak_to_average
    x = a.cross_node_share
    ttl = a.ticket_ttl_seconds if a.ticket_ttl_seconds is not None else v(fig, "configuration", "ticket_ttl_seconds")
    nats_msgs = v(fig, "measured", "nats_msgs_per_session_local") * (1 - x) + v(fig, "measured", "nats_msgs_per_session_cross") * x
    nats_bytes = v(fig, "measured", "nats_bytes_per_session_local") * (1 - x) + v(fig, "measured", "nats_bytes_per_session_cross") * x
    nats_cpu = v(fig, "measured", "nats_cpu_us_per_session_local") * (1 - x) + v(fig, "measured", "nats_cpu_us_per_session_cross") * x
    held = v(fig, "measured", "nats_subscriptions_held_per_session") * v(fig, "measured", "nats_bytes_per_held_subscription")
    wire = a.payload_bytes + v(fig, "assumptions", "frame_overhead_bytes")
    regions = {}
    for name, share in a.regions:
        rate = math.ceil(frac(peak_rate) * frac(share))
        concurrent = math.ceil(rate * frac(a.session_seconds))
        need = {
            "memory": 0 if n["sessions_per_node"] == 0 else math.ceil(Fraction(concurrent, n["sessions_per_node"])),
            "connections": math.ceil(Fraction(concurrent, n["sessions_per_node_by_edge"])),
            "cpu": math.ceil(Fraction(rate, n["node_session_rate"])),
        }
        top = max(need.values())
        binding = "none" if top == 0 else "cpu" if need["cpu"] == top else "memory" if need["memory"] >= need["connections"] else "connections"
        nodes = max(a.min_nodes, top + a.spare_nodes)
        nats_cores = rate * nats_cpu / 1e6
        nats_mem_gib = rate * ttl * held / 2**30
        regions[name] = {
            "share": share, "peak_session_rate": rate, "peak_sessions": concurrent, "nodes": nodes, "binding": binding,
            "need": need,
            "relay_heap_gib": concurrent * n["heap_bytes_per_session"] / 2**30,
            "edge_connections": concurrent * v(fig, "configuration", "connections_per_session"),
            "nats_msgs_per_s": rate * nats_msgs,
            "nats_cores_per_server": nats_cores,
            "nats_held_subscriptions": rate * ttl * v(fig, "measured", "nats_subscriptions_held_per_session"),
            "nats_memory_gib_per_server": nats_mem_gib,
            "nats_cells": max(1, math.ceil(max(nats_cores / a.nats_server_cores, nats_mem_gib / a.nats_server_memory_gib))),
            "client_gbit_s": rate * a.frames * wire * 2 * 8 / 1e9,
            "nats_gbit_s": rate * nats_bytes * 8 / 1e9,
        }
    total_nodes = sum(r["nodes"] for r in regions.values())
    return {
        "node": n, "sessions_per_day": per_day, "avg_session_rate": avg_rate, "peak_session_rate": peak_rate,
        "regions": regions, "total_nodes": total_nodes, "ticket_ttl_seconds": ttl,
        "node_months_cost_usd": None if a.price_usd is None else total_nodes * a.price_usd,
        "bandwidth_gbit_s": sum(r["client_gbit_s"] + r["nats_gbit_s"] for r in regions.values()),
        "nats_break_rate": {
            "cpu": a.nats_server_cores * 1e6 / nats_cpu,
            "memory": a.nats_server_memory_gib * 2**30 / (ttl * held),
        },
    }


SCENARIOS = [
    ("baseline", "the worked example", {}),
    ("sessions-x2", "sessions per user doubled", {"sessions_per_user": 4}),
    ("cross-node-30", "cross-node share 30 %", {"cross_node_share": 0.3}),
    ("peak-x5", "peak-to-average 5", {"peak_to_average": 5}),
    ("long-sessions", "sessions last 30 s", {"session_seconds": 30}),
    ("chatty", "16 round trips per session", {"round_trips": 16}),
    ("ttl-60s", "tickets live 60 s", {"ticket_ttl_seconds": 60}),
    ("w8-target", "relay CPU per session at the 300 us target", {"cpu_us_per_session": 300}),
    ("kvm8", "KVM 8 nodes (8 vCPU, 32 GiB)", {"plan": "kvm8"}),
]


def scenario(base, name):
    for key, _, changes in SCENARIOS:
        if key == name:
            return dataclasses.replace(base, **changes)
    raise ValueError(f"unknown scenario {name}; one of {', '.join(k for k, _, _ in SCENARIOS)}")


def breaks_first(a, model):
    """The largest region's limits: those adding relay nodes does not lift (NATS), then what sets the node count."""
    name, r = max(model["regions"].items(), key=lambda kv: kv[1]["peak_session_rate"])
    nats = sorted([
        ("NATS memory", r["nats_memory_gib_per_server"], a.nats_server_memory_gib, "GiB per server",
         f"each session leaves a subscription on its home node until its tickets expire ({model['ticket_ttl_seconds']:g} s),"
         " and every server of the region's cluster holds all of them"),
        ("NATS CPU", r["nats_cores_per_server"], a.nats_server_cores, "cores per server",
         "every session adds and removes subscriptions and sends messages even when both participants share a node,"
         " and interest reaches every server of the cluster"),
    ], key=lambda i: -i[1] / i[2])
    nodes = sorted(r["need"].items(), key=lambda kv: -kv[1])
    return name, r, nats, nodes


# ---------------------------------------------------------------- output

def fmt(x, digits=0):
    if x is None:
        return "—"
    if isinstance(x, Fraction):
        x = float(x)
    if digits == 0:
        return f"{round(x):,}"
    return f"{x:,.{digits}f}"


def markdown(fig, a):
    model = fleet(fig, a)
    n = model["node"]
    out = []
    w = out.append
    w("### Per-node figures (infra/capacity/figures.json)\n")
    w("| figure | value | status |")
    w("|---|---|---|")
    for name, e in fig["measured"].items():
        w(f"| `{name}` | {e['value']:,} | {e['status']} |")
    for section in ("configuration", "assumptions"):
        for name, e in fig[section].items():
            w(f"| `{name}` | {e['value']:,} | {section[:-1] if section == 'assumptions' else 'configuration'} |")
    w("")
    w("### Inputs of the worked example\n")
    w("| assumption | value |")
    w("|---|---|")
    rows = [
        ("daily users", fmt(a.daily_users)), ("sessions per user per day", fmt(a.sessions_per_user, 1)),
        ("session length (first join to end)", f"{a.session_seconds:g} s"),
        ("frames per session", f"{a.frames} ({a.round_trips} round trips of {a.payload_bytes} B)"),
        ("peak / average session rate", f"{a.peak_to_average:g}"), ("cross-node share", f"{a.cross_node_share:.0%}"),
        ("regions (share of traffic)", ", ".join(f"{k} {s:.0%}" for k, s in a.regions)),
        ("node", f"{a.plan}: {n['vcpus']} vCPU, {n['memory_mib'] // 1024} GiB; {n['pods_per_node']} relay pods of {a.relay_pod_memory_mib} MiB"),
        ("relay share of a node's CPU at peak", f"{a.relay_cpu_share:.0%}"), ("memory and connection headroom", f"{a.headroom:.0%}"),
        ("connections", a.connections + " (one per participant)" if a.connections == "dedicated" else a.connections),
        ("ticket lifetime", f"{model['ticket_ttl_seconds']:g} s"),
        ("NATS server budget", f"{a.nats_server_cores:g} cores, {a.nats_server_memory_gib:g} GiB"),
        ("spare nodes per region / minimum", f"{a.spare_nodes} / {a.min_nodes}"),
        ("price per node-month", "not given" if a.price_usd is None else f"USD {a.price_usd:g}"),
    ]
    for k, val in rows:
        w(f"| {k} | {val} |")
    w("")
    w("### Worked example\n")
    w(f"{fmt(model['sessions_per_day'])} sessions a day = {fmt(model['avg_session_rate'])} sessions/s on average, "
      f"{fmt(model['peak_session_rate'])} at peak. One node: {fmt(n['cpu_us_per_session'], 1)} µs of relay CPU per session "
      f"-> {fmt(n['node_session_rate'])} sessions/s; {fmt(n['sessions_per_node'])} concurrent sessions in memory; "
      f"{fmt(n['sessions_per_node_by_edge'])} by the edge's connections. Ended sessions are remembered until their tickets "
      f"expire: at {fmt(n['node_session_rate'])} sessions/s and {model['ticket_ttl_seconds']:g} s tickets that is "
      f"{fmt(n['node_session_rate'] * (model['ticket_ttl_seconds'] + 30) * v(fig, 'measured', 'heap_bytes_per_ended_session') / 1048576, 1)} MiB "
      f"of heap per node ({fmt(v(fig, 'measured', 'heap_bytes_per_ended_session'))} B each, the sessions/s × (lifetime + 30 s) of them).\n")
    w("| region | peak sessions/s | concurrent | relay nodes | limit | heap in use GiB | NATS msgs/s | NATS cores/server | NATS GiB/server | NATS cells | Gbit/s |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in model["regions"].items():
        w(f"| {name} | {fmt(r['peak_session_rate'])} | {fmt(r['peak_sessions'])} | {fmt(r['nodes'])} | {r['binding']} "
          f"| {fmt(r['relay_heap_gib'], 1)} | {fmt(r['nats_msgs_per_s'])} | {fmt(r['nats_cores_per_server'], 1)} "
          f"| {fmt(r['nats_memory_gib_per_server'], 1)} | {fmt(r['nats_cells'])} | {fmt(r['client_gbit_s'] + r['nats_gbit_s'], 2)} |")
    w(f"| **all** | {fmt(model['peak_session_rate'])} | | **{fmt(model['total_nodes'])}** | | | | | | | {fmt(model['bandwidth_gbit_s'], 1)} |")
    w("")
    cost = "give `--price-usd`" if a.price_usd is None else f"USD {fmt(model['node_months_cost_usd'])} a month"
    w(f"Monthly cost: {fmt(model['total_nodes'])} node-months × the plan's price ({cost}), plus the DNS load balancer.\n")
    w("### Sensitivity\n")
    w("| scenario | peak sessions/s | relay nodes | largest region: nodes (limit) | NATS cores/server | NATS GiB/server | Gbit/s |")
    w("|---|---|---|---|---|---|---|")
    for key, label, _ in SCENARIOS:
        s = fleet(fig, scenario(a, key))
        big = max(s["regions"].values(), key=lambda r: r["peak_session_rate"])
        w(f"| {label} | {fmt(s['peak_session_rate'])} | {fmt(s['total_nodes'])} | {fmt(big['nodes'])} ({big['binding']}) "
          f"| {fmt(big['nats_cores_per_server'], 1)} | {fmt(big['nats_memory_gib_per_server'], 1)} | {fmt(s['bandwidth_gbit_s'], 1)} |")
    w("")
    region, r, nats, nodes = breaks_first(a, model)
    br = model["nats_break_rate"]
    limit = min(br["memory"], br["cpu"])
    w(f"### What breaks first (region {region}, the largest)\n")
    for i, (what, need, budget, unit, why) in enumerate(nats, 1):
        w(f"{i}. **{what}**: {fmt(need, 1)} {unit} against a budget of {budget:g} ({need / budget:,.1f}×): {why}."
          " Adding relay nodes does not lift it.")
    w(f"{len(nats) + 1}. **Relay nodes** scale out: {nodes[0][0]} sets the count ({fmt(nodes[0][1])} nodes before spares);"
      + "".join(f"; {k} would need {fmt(n)}" for k, n in nodes[1:]) + ".")
    w("")
    w(f"So a region's NATS cluster runs out at about {fmt(limit)} sessions/s (memory at {fmt(br['memory'])}, CPU at"
      f" {fmt(br['cpu'])}), {limit / r['peak_session_rate']:.1%} of this region's peak, however many relay nodes it has.")
    return "\n".join(out) + "\n"


def tables_in(doc):
    """The generated part of docs/capacity.md."""
    if BEGIN not in doc or END not in doc:
        raise ValueError("docs/capacity.md has no generated tables between " + BEGIN + " and " + END)
    return doc[doc.index(BEGIN) + len(BEGIN):doc.index(END)].strip("\n") + "\n"


def with_tables(doc, tables):
    return doc[:doc.index(BEGIN) + len(BEGIN)] + "\n\n" + tables + "\n" + doc[doc.index(END):]


def terraform_vars(fig, a):
    """The inputs of infra/terraform/modules/sizing for these assumptions (the agreement check)."""
    model = fleet(fig, a)
    tf = {
        "plan": a.plan, "system_reserved_mib": a.system_reserved_mib, "relay_pod_memory_mib": a.relay_pod_memory_mib,
        "heap_percent": a.heap_percent, "headroom": a.headroom, "relay_cpu_share": a.relay_cpu_share,
        "spare_nodes": a.spare_nodes, "min_nodes": a.min_nodes, "frames_per_session": a.frames,
        "cross_node_share": a.cross_node_share,
        "peak_sessions": {k: r["peak_sessions"] for k, r in model["regions"].items()},
        "peak_session_rate": {k: r["peak_session_rate"] for k, r in model["regions"].items()},
    }
    if a.connections == "shared":
        tf["heap_per_session_kib"] = v(fig, "measured", "heap_bytes_per_idle_session_shared") / 1024
    if a.cpu_us_per_session is not None:
        tf["cpu_us_per_session"] = a.cpu_us_per_session
    return tf


def compare_terraform(fig, a, outputs):
    """Differences between the calculator and `terraform output -json` of the sizing module (empty: they agree)."""
    model = fleet(fig, a)
    n = model["node"]
    tf = {k: val["value"] for k, val in outputs.items()}
    diffs = []

    def same(name, mine, theirs):
        if isinstance(mine, dict):
            ok = set(mine) == set(theirs) and all(same_value(mine[k], theirs[k]) for k in mine)
        else:
            ok = same_value(mine, theirs)
        if not ok:
            shown = {k: float(x) for k, x in mine.items()} if isinstance(mine, dict) else float(mine) if isinstance(mine, Fraction) else mine
            diffs.append(f"{name}: calculator {shown} vs terraform {theirs}")

    def same_value(x, y):
        if isinstance(x, (int, float, Fraction)) and isinstance(y, (int, float)):
            return abs(float(x) - float(y)) <= 1e-9 * max(1.0, abs(float(x)))
        return x == y

    for key in ("pods_per_node", "pod_heap_mib", "sessions_per_pod", "sessions_per_node", "sessions_per_node_by_edge",
                "heap_bytes_per_session", "cpu_us_per_session", "node_session_rate"):
        same(key, n[key], tf[key])
    same("nodes_per_region", {k: r["nodes"] for k, r in model["regions"].items()}, tf["nodes_per_region"])
    same("binding_limit", {k: r["binding"] for k, r in model["regions"].items()}, tf["binding_limit"])
    return diffs


def text(fig, a):
    model = fleet(fig, a)
    lines = [markdown(fig, a)]
    provisional = [k for k, e in fig["measured"].items() if e["status"] != "measured"]
    if provisional:
        lines.append("Provisional figures (see figures.json, replace_with): " + ", ".join(provisional))
    if model["node_months_cost_usd"] is None:
        lines.append("No --price-usd given: cost is shown in node-months.")
    return "\n".join(lines)


def parse_regions(text_value):
    regions = []
    for part in text_value.split(","):
        k, _, val = part.partition("=")
        if not k.strip() or not val:
            raise argparse.ArgumentTypeError(f"regions look like eu=0.5,us=0.5; got {text_value}")
        regions.append((k.strip(), float(val)))
    return tuple(regions)


def main(argv=None):
    d = Assumptions()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--figures", default=str(FIGURES), help="per-node figures (default: infra/capacity/figures.json)")
    p.add_argument("--daily-users", type=float, default=d.daily_users)
    p.add_argument("--sessions-per-user", type=float, default=d.sessions_per_user, help="sessions per user per day")
    p.add_argument("--session-seconds", type=float, default=d.session_seconds, help="mean time from first join to the end")
    p.add_argument("--round-trips", type=int, default=d.round_trips, help="round trips per session (two frames each)")
    p.add_argument("--payload-bytes", type=int, default=d.payload_bytes)
    p.add_argument("--peak-to-average", type=float, default=d.peak_to_average)
    p.add_argument("--cross-node-share", type=float, default=d.cross_node_share)
    p.add_argument("--regions", type=parse_regions, default=d.regions, help=f"name=share,... (default {DEFAULT_REGIONS})")
    p.add_argument("--plan", choices=sorted(PLANS), default=d.plan)
    p.add_argument("--relay-pod-memory-mib", type=int, default=d.relay_pod_memory_mib)
    p.add_argument("--relay-cpu-share", type=float, default=d.relay_cpu_share)
    p.add_argument("--headroom", type=float, default=d.headroom)
    p.add_argument("--spare-nodes", type=int, default=d.spare_nodes)
    p.add_argument("--min-nodes", type=int, default=d.min_nodes)
    p.add_argument("--connections", choices=["dedicated", "shared"], default=d.connections)
    p.add_argument("--ticket-ttl-seconds", type=float, default=d.ticket_ttl_seconds)
    p.add_argument("--cpu-us-per-session", type=float, default=d.cpu_us_per_session, help="override the measured figure")
    p.add_argument("--nats-server-cores", type=float, default=d.nats_server_cores)
    p.add_argument("--nats-server-memory-gib", type=float, default=d.nats_server_memory_gib)
    p.add_argument("--price-usd", type=float, default=d.price_usd, help="price of one node per month")
    p.add_argument("--scenario", help="apply one row of the sensitivity table: " + ", ".join(k for k, _, _ in SCENARIOS))
    out = p.add_mutually_exclusive_group()
    out.add_argument("--markdown", action="store_true", help="the tables of docs/capacity.md")
    out.add_argument("--update-docs", action="store_true", help="rewrite the generated tables in docs/capacity.md")
    out.add_argument("--json", action="store_true", help="the whole model as JSON")
    out.add_argument("--terraform-vars", action="store_true", help="modules/sizing inputs as a tfvars JSON")
    out.add_argument("--compare-terraform", metavar="OUTPUTS_JSON", help="compare with `terraform output -json` of the sizing module")
    args = p.parse_args(argv)
    a = Assumptions(
        daily_users=args.daily_users, sessions_per_user=args.sessions_per_user, session_seconds=args.session_seconds,
        round_trips=args.round_trips, payload_bytes=args.payload_bytes, peak_to_average=args.peak_to_average,
        cross_node_share=args.cross_node_share, regions=args.regions, plan=args.plan,
        relay_pod_memory_mib=args.relay_pod_memory_mib, relay_cpu_share=args.relay_cpu_share, headroom=args.headroom,
        spare_nodes=args.spare_nodes, min_nodes=args.min_nodes, connections=args.connections,
        ticket_ttl_seconds=args.ticket_ttl_seconds, cpu_us_per_session=args.cpu_us_per_session,
        nats_server_cores=args.nats_server_cores, nats_server_memory_gib=args.nats_server_memory_gib, price_usd=args.price_usd)
    if args.scenario:
        a = scenario(a, args.scenario)
    fig = load_figures(args.figures)
    if args.markdown:
        sys.stdout.write(markdown(fig, a))
    elif args.update_docs:
        DOCS.write_text(with_tables(DOCS.read_text(encoding="utf-8"), markdown(fig, a)), encoding="utf-8")
        print(f"updated the tables in {DOCS.relative_to(HERE.parent.parent)}")
    elif args.json:
        json.dump(fleet(fig, a), sys.stdout, indent=2, default=float)
        print()
    elif args.terraform_vars:
        json.dump(terraform_vars(fig, a), sys.stdout, indent=2)
        print()
    elif args.compare_terraform:
        with open(args.compare_terraform, encoding="utf-8") as f:
            diffs = compare_terraform(fig, a, json.load(f))
        for line in diffs:
            print("MISMATCH " + line)
        if diffs:
            return 1
        print("terraform modules/sizing agrees with the calculator"
              + (f" (scenario {args.scenario})" if args.scenario else ""))
    else:
        print(text(fig, a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
