#!/usr/bin/env python3
"""Structural checks for otel/ that promtool cannot do. Called by check.sh.

    python3 otel/check_configs.py otel <out-rules-file>

Checks the collector config, the Grafana dashboards and provisioning, the alert rules' metadata and
the telemetry contract (metric names and bounded label values), and writes every dashboard PromQL
expression into <out-rules-file> as recording rules so that `promtool check rules` can parse them.
Prints one line per problem and exits 1 if there is any.
"""
import json
import pathlib
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    print("FAIL: python3 module 'yaml' missing (Debian: apt-get install python3-yaml)")
    sys.exit(1)

# --------------------------------------------------------------------------- the relay's contract
HISTOGRAMS = {"relay_time_to_pair_seconds", "relay_hop_latency_seconds",
              "grpc_server_call_duration_seconds", "jvm_gc_duration_seconds"}
PLAIN = {
    "relay_connections_active", "relay_sessions_active", "relay_frames_relayed_total",
    "relay_bytes_relayed_total", "relay_rejections_total", "relay_session_outcomes_total",
    "relay_backpressure_stalls_total", "relay_nats_link_up", "relay_cross_node_frames_total",
    "grpc_server_call_started_total",
    "jvm_memory_used_bytes", "jvm_thread_count", "jvm_cpu_recent_utilization_ratio",
    # semconv jvm.memory.limit from the same runtime-telemetry module (not in the listed contract)
    "jvm_memory_limit_bytes",
}
CONTRACT_METRICS = PLAIN | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}
CONTRACT_PREFIX = re.compile(r"\b((?:relay|grpc_server|jvm)_[a-z0-9_]+)")
BOUNDED_LABELS = {
    "transport": {"grpc", "websocket", "grpc_web"},
    "state": {"waiting", "paired"},
    "reason": {"bad_ticket", "expired_ticket", "unknown_key", "role_taken", "session_ended",
               "frame_too_large", "rate_limited", "too_many_streams", "protocol_error", "not_authorized",
               # also defined by relay-service RelayError.metricLabel() (not in the written contract)
               "premature_ticket", "not_issuer", "hello_timeout", "cluster_unavailable",
               "join_rate_limited", "keepalive_rate_limited", "not_reading", "too_many_connections"},
    "outcome": {"paired", "peer_never_joined", "expired", "idle", "rejected", "terminated", "error", "shutdown"},
    "direction": {"in", "out"},
}
GRAFANA_BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h",
                    "__interval_ms": "60000", "__range_s": "3600", "__range_ms": "3600000"}

errors = []


def fail(where, msg):
    errors.append(f"{where}: {msg}")


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def check_contract(where, expr):
    """Metric names of the relay/gRPC/JVM contract and bounded label values."""
    bare = strip_strings(expr)
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    bare = re.sub(r"\b\w+\s*(=~|!~|!=|=(?!=))", " ", bare)  # label names in matchers
    for name in CONTRACT_PREFIX.findall(bare):
        if name not in CONTRACT_METRICS:
            fail(where, f"metric '{name}' is not in the relay telemetry contract")
    for label, op, value in re.findall(r'\b(transport|state|reason|outcome|direction)\s*(=~|!~|!=|=)\s*"([^"]*)"', expr):
        if "$" in value:
            continue
        for alt in value.split("|") if op in ("=~", "!~") else [value]:
            if re.search(r"[.*+?()\[\]{}^\\]", alt):
                continue  # a real regex; cannot enumerate
            if alt not in BOUNDED_LABELS[label]:
                fail(where, f"{label}=\"{alt}\" is not a value the relay emits ({sorted(BOUNDED_LABELS[label])})")


# --------------------------------------------------------------------------- collector
def ctype(component_id):
    return component_id.split("/", 1)[0]


def check_collector(path):
    where = path.name
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        fail(where, f"invalid YAML: {e}")
        return
    allowed = {"receivers", "processors", "exporters", "connectors", "extensions", "service"}
    for key in cfg:
        if key not in allowed:
            fail(where, f"unknown top-level section '{key}'")
    receivers = cfg.get("receivers") or {}
    processors = cfg.get("processors") or {}
    exporters = cfg.get("exporters") or {}
    connectors = cfg.get("connectors") or {}
    extensions = cfg.get("extensions") or {}
    service = cfg.get("service") or {}
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        fail(where, "service.pipelines is empty")

    for ext in service.get("extensions") or []:
        if ext not in extensions:
            fail(where, f"service.extensions references undefined extension '{ext}'")
    if not any(ctype(e) == "health_check" for e in service.get("extensions") or []):
        fail(where, "health_check extension is not enabled in service.extensions")

    for eid in exporters:
        if ctype(eid) in ("otlp", "otlphttp"):
            new = {"otlp": "otlp_grpc", "otlphttp": "otlp_http"}[ctype(eid)]
            fail(where, f"exporter '{eid}' uses the deprecated name '{ctype(eid)}'; use '{new}'")
        if ctype(eid) in ("otlp_grpc", "otlp_http"):
            sq = (exporters[eid] or {}).get("sending_queue") or {}
            if sq.get("enabled") is False or "batch" not in sq:
                fail(where, f"exporter '{eid}' does not batch (sending_queue.batch)")

    used_conn_as_exporter, used_conn_as_receiver = set(), set()
    kinds = set()
    for pname, p in pipelines.items():
        pw = f"{where}: pipeline '{pname}'"
        kind = ctype(pname)
        kinds.add(kind)
        if kind not in ("traces", "metrics", "logs", "profiles"):
            fail(pw, f"unknown signal '{kind}'")
        p = p or {}
        if not p.get("receivers"):
            fail(pw, "has no receivers")
        if not p.get("exporters"):
            fail(pw, "has no exporters")
        for r in p.get("receivers") or []:
            if r in connectors:
                used_conn_as_receiver.add(r)
            elif r not in receivers:
                fail(pw, f"receiver '{r}' is not defined")
        for e in p.get("exporters") or []:
            if e in connectors:
                used_conn_as_exporter.add(e)
            elif e not in exporters:
                fail(pw, f"exporter '{e}' is not defined")
        procs = p.get("processors") or []
        for pr in procs:
            if pr not in processors:
                fail(pw, f"processor '{pr}' is not defined")
            if ctype(pr) == "batch":
                fail(pw, f"processor '{pr}': the batch processor is deprecated here; batch in the exporter's sending_queue")
        if not procs or ctype(procs[0]) != "memory_limiter":
            fail(pw, "memory_limiter must be the first processor")
        if len(procs) != len(set(procs)):
            fail(pw, "lists a processor twice")
        # secrets: every pipeline must drop the authorization attributes
        for secret in ("rpc.request.metadata.authorization", "http.request.header.authorization"):
            if not any(ctype(pr) == "attributes" and deletes(processors.get(pr) or {}, secret) for pr in procs):
                fail(pw, f"no attributes processor deletes '{secret}'")
        if kind == "traces" and not any(ctype(pr) == "tail_sampling" for pr in procs):
            fail(pw, "traces pipeline has no tail_sampling processor")
        if kind == "traces" and any(ctype(pr) == "tail_sampling" for pr in procs):
            if ctype(procs[-1]) != "tail_sampling":
                fail(pw, "tail_sampling should be the last processor (redact and enrich before deciding)")
    for c in connectors:
        if c not in used_conn_as_exporter or c not in used_conn_as_receiver:
            fail(where, f"connector '{c}' must be an exporter in one pipeline and a receiver in another")
    for k in ("traces", "metrics"):
        if k not in kinds:
            fail(where, f"no {k} pipeline")
    unused = [c for c in list(receivers) + list(processors) + list(exporters)
              if not any(c in ((p or {}).get(s) or []) for p in pipelines.values()
                         for s in ("receivers", "processors", "exporters"))]
    for c in unused:
        fail(where, f"component '{c}' is defined but not used by any pipeline")

    # memory_limiter must actually limit
    for pid, pc in processors.items():
        if ctype(pid) == "memory_limiter":
            pc = pc or {}
            if not (pc.get("limit_mib") or pc.get("limit_percentage")):
                fail(where, f"{pid}: set limit_mib or limit_percentage")
            if "check_interval" not in pc:
                fail(where, f"{pid}: set check_interval")

    # OTLP receiver ports
    otlp = next((v or {} for k, v in receivers.items() if ctype(k) == "otlp"), None)
    if otlp is None:
        fail(where, "no otlp receiver")
    else:
        protos = otlp.get("protocols") or {}
        if not str((protos.get("grpc") or {}).get("endpoint", "")).endswith(":4317"):
            fail(where, "otlp receiver: grpc endpoint must listen on :4317")
        if not str((protos.get("http") or {}).get("endpoint", "")).endswith(":4318"):
            fail(where, "otlp receiver: http endpoint must listen on :4318")

    # resource processor adds deployment.region from the environment
    res = [v or {} for k, v in processors.items() if ctype(k) == "resource"]
    if not any(a.get("key") == "deployment.region" and "${env:" in str(a.get("value", ""))
               for r in res for a in r.get("attributes") or []):
        fail(where, "no resource processor sets deployment.region from ${env:...}")

    # tail sampling policies
    ts = [v or {} for k, v in processors.items() if ctype(k) == "tail_sampling"]
    if not ts:
        fail(where, "no tail_sampling processor")
    for t in ts:
        policies = list(walk_policies(t.get("policies") or []))
        if not any(p.get("type") == "status_code"
                   and "ERROR" in ((p.get("status_code") or {}).get("status_codes") or []) for p in policies):
            fail(where, "tail_sampling: no status_code policy keeping ERROR traces")
        if not any(p.get("type") == "latency" and (p.get("latency") or {}).get("threshold_ms", 0) > 0 for p in policies):
            fail(where, "tail_sampling: no latency policy with threshold_ms > 0")
        probs = [p for p in policies if p.get("type") == "probabilistic"]
        if not probs:
            fail(where, "tail_sampling: no probabilistic baseline policy")
        for p in probs:
            pct = (p.get("probabilistic") or {}).get("sampling_percentage", 0)
            if not 0 < pct <= 25:
                fail(where, f"tail_sampling: probabilistic sampling_percentage {pct} should be a small baseline (0-25)")
        names = [p.get("name") for p in t.get("policies") or []]
        if len(names) != len(set(names)) or None in names:
            fail(where, "tail_sampling: every policy needs a unique name")

    # trace and metrics destinations
    if not any(ctype(e) in ("otlp_grpc", "otlp_http") and any(h in str((c or {}).get("endpoint", "")) for h in ("tempo", "jaeger", "TRACES_ENDPOINT"))
               for e, c in exporters.items()):
        fail(where, "no OTLP exporter to a trace backend (tempo/jaeger)")
    if not any(ctype(e) == "prometheus" or (ctype(e) == "otlp_http" and "/api/v1/otlp" in str((c or {}).get("endpoint", "")))
               for e, c in exporters.items()):
        fail(where, "no metrics exporter to Prometheus (prometheus or otlp_http -> /api/v1/otlp)")


def deletes(proc, key):
    for a in proc.get("actions") or []:
        if a.get("action") != "delete":
            continue
        if a.get("key") == key:
            return True
        if a.get("pattern") and re.search(a["pattern"], key):
            return True
    return False


def walk_policies(policies):
    for p in policies:
        p = p or {}
        yield p
        for nested_key in ("and", "composite"):
            sub = (p.get(nested_key) or {})
            yield from walk_policies(sub.get("and_sub_policy") or sub.get("composite_sub_policy") or [])


# --------------------------------------------------------------------------- dashboards
def substitute(expr, where, defined):
    for v in re.findall(r"\$\{?(\w+)", expr):
        if v not in defined and v not in GRAFANA_BUILTINS:
            fail(where, f"uses undefined template variable ${v}")
    for label, op in re.findall(r'(\w+)\s*(=|!=)\s*"[^"]*\$(?!__)', expr):
        fail(where, f"{label}{op}\"$...\": multi-value variables need =~ / !~")
    for k, v in GRAFANA_BUILTINS.items():
        expr = re.sub(r"\$\{" + k + r"\}|\$" + k + r"\b", v, expr)
    return re.sub(r"\$\{\w+(?::\w+)?\}|\$\w+", ".*", expr)


def panels_of(dash):
    for p in dash.get("panels") or []:
        yield p
        for sub in p.get("panels") or []:
            yield sub


def check_dashboards(dirpath, rules):
    files = sorted(dirpath.glob("*.json"))
    if not files:
        fail(str(dirpath), "no dashboards")
    uids = {}
    for f in files:
        where = f"dashboards/{f.name}"
        rec = "dashboard:" + re.sub(r"\W", "_", f.name)
        try:
            dash = json.loads(f.read_text())
        except json.JSONDecodeError as e:
            fail(where, f"invalid JSON: {e}")
            continue
        for key in ("uid", "title", "panels", "schemaVersion", "templating"):
            if key not in dash:
                fail(where, f"missing '{key}'")
        uid = dash.get("uid")
        if uid in uids:
            fail(where, f"uid '{uid}' also used by {uids[uid]}")
        uids[uid] = f.name
        variables = (dash.get("templating") or {}).get("list") or []
        defined = {v.get("name") for v in variables}
        for need in ("region", "instance"):
            if need not in defined:
                fail(where, f"template variable ${need} missing")
        for v in variables:
            if v.get("type") != "query":
                continue
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q or "")
            if not m:
                fail(where, f"variable ${v.get('name')}: expected label_values(<selector>, <label>), got {q!r}")
                continue
            vw = f"{where}: variable ${v.get('name')}"
            rules.append((f"{rec}:var_{v.get('name')}", substitute(m.group(1), vw, defined)))
            check_contract(vw, m.group(1))
        ids = {}
        for p in panels_of(dash):
            pid = p.get("id")
            title = p.get("title", "?")
            if pid is None:
                fail(where, f"panel '{title}' has no id")
            elif pid in ids:
                fail(where, f"panel id {pid} used by '{ids[pid]}' and '{title}'")
            else:
                ids[pid] = title
            if p.get("type") == "row":
                continue
            if "gridPos" not in p:
                fail(where, f"panel '{title}' has no gridPos")
            targets = p.get("targets") or []
            if not targets:
                fail(where, f"panel '{title}' has no queries")
            refs = [t.get("refId") for t in targets]
            if len(refs) != len(set(refs)):
                fail(where, f"panel '{title}' repeats a refId")
            for t in targets:
                tw = f"{where}: panel {pid} '{title}' {t.get('refId')}"
                expr = t.get("expr")
                if not expr:
                    fail(tw, "empty expr")
                    continue
                rules.append((f"{rec}:panel_{pid}_{t.get('refId')}", substitute(expr, tw, defined)))
                check_contract(tw, expr)


def check_provisioning(root):
    ds_file = root / "grafana/provisioning/datasources/datasources.yaml"
    db_file = root / "grafana/provisioning/dashboards/dashboards.yaml"
    for f in (ds_file, db_file):
        if not f.exists():
            fail(str(f.relative_to(root)), "missing")
            return
    try:
        ds = yaml.safe_load(ds_file.read_text())
        db = yaml.safe_load(db_file.read_text())
    except yaml.YAMLError as e:
        fail("grafana/provisioning", f"invalid YAML: {e}")
        return
    by_uid = {d.get("uid"): d for d in ds.get("datasources") or []}
    if (by_uid.get("prometheus") or {}).get("type") != "prometheus":
        fail("datasources.yaml", "needs a prometheus datasource with uid 'prometheus' (dashboard default)")
    if not any(d.get("type") in ("tempo", "jaeger") for d in by_uid.values()):
        fail("datasources.yaml", "needs a trace datasource (tempo or jaeger)")
    for d in by_uid.values():
        for dest in (d.get("jsonData") or {}).get("exemplarTraceIdDestinations") or []:
            if dest.get("datasourceUid") not in by_uid:
                fail("datasources.yaml", f"exemplar destination uid '{dest.get('datasourceUid')}' is not provisioned")
    providers = db.get("providers") or []
    if not providers or not all(((p.get("options") or {}).get("path")) for p in providers):
        fail("dashboards.yaml", "needs a file provider with options.path")


# --------------------------------------------------------------------------- alerts
def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def check_alerts(root):
    rules_file = root / "prometheus/alerts.yml"
    test_file = root / "prometheus/alerts_test.yml"
    readme = root / "README.md"
    anchors = set()
    if readme.exists():
        anchors = {slug(m) for m in re.findall(r"^#+\s+(.*)$", readme.read_text(), re.M)}
    else:
        fail("README.md", "missing")
    doc = yaml.safe_load(rules_file.read_text())
    names = set()
    for g in doc.get("groups") or []:
        for r in g.get("rules") or []:
            if "alert" not in r:
                continue
            w = f"alerts.yml: {r['alert']}"
            if r["alert"] in names:
                fail(w, "duplicate alert name")
            names.add(r["alert"])
            if not r.get("for") or re.fullmatch(r"0+[a-z]*", str(r.get("for"))):
                fail(w, "missing or zero 'for:'")
            if (r.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                fail(w, "severity label must be critical|warning|info")
            ann = r.get("annotations") or {}
            for a in ("summary", "description", "runbook_url"):
                if not ann.get(a):
                    fail(w, f"missing annotation '{a}'")
            anchor = str(ann.get("runbook_url", "")).partition("#")[2]
            if anchors and anchor and anchor not in anchors:
                fail(w, f"runbook anchor '#{anchor}' has no heading in README.md")
            check_contract(w, r.get("expr", ""))
    tests = yaml.safe_load(test_file.read_text())
    fired, silent = set(), set()
    for t in tests.get("tests") or []:
        for a in t.get("alert_rule_test") or []:
            (fired if a.get("exp_alerts") else silent).add(a.get("alertname"))
            if a.get("alertname") not in names:
                fail("alerts_test.yml", f"tests unknown alert '{a.get('alertname')}'")
    for must in ("RelayPairingFailureRatioHigh", "RelayHopLatencyP99High", "RelayNatsLinkDown", "RelayInstanceDown"):
        if must not in fired:
            fail("alerts_test.yml", f"no test where {must} fires")
        if must not in silent:
            fail("alerts_test.yml", f"no test where {must} stays silent")


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    out = pathlib.Path(sys.argv[2])
    check_collector(root / "collector.yaml")
    rules = []
    check_dashboards(root / "grafana/dashboards", rules)
    check_provisioning(root)
    check_alerts(root)
    doc = {"groups": [{"name": "dashboard-expressions",
                       "rules": [{"record": name, "expr": e} for name, e in rules]}]}
    out.write_text(yaml.safe_dump(doc, sort_keys=False, width=10_000))
    for e in errors:
        print(f"  FAIL {e}")
    print(f"  {len(rules)} dashboard expressions extracted; {len(errors)} structural problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
