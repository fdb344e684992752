"""Tests of the capacity calculator: python3 -m unittest discover -s infra/capacity (run by infra/check.sh)."""

import copy
import dataclasses
import json
import math
import unittest

import capacity
from capacity import Assumptions

FIG = capacity.load_figures()


def figures(**measured):
    """The real figures file with some measured values replaced."""
    f = copy.deepcopy(FIG)
    for k, val in measured.items():
        f["measured"][k]["value"] = val
    return f


class FiguresFile(unittest.TestCase):
    def test_every_measured_figure_names_its_command_and_every_provisional_one_its_replacement(self):
        for name, e in FIG["measured"].items():
            if e["status"] == "measured":
                self.assertTrue(e["command"].startswith(("java ", "mvn ")), name)
                self.assertIn("result", e, name)
            else:
                self.assertIn("replace_with", e, name)

    def test_a_measured_figure_without_a_command_is_refused(self, ):
        broken = copy.deepcopy(FIG)
        del broken["measured"]["cpu_us_per_frame"]["command"]
        path = self.tmp_json(broken)
        with self.assertRaisesRegex(ValueError, "cpu_us_per_frame names no command"):
            capacity.load_figures(path)

    def tmp_json(self, data):
        import tempfile
        f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(data, f)
        f.close()
        self.addCleanup(lambda: __import__("os").unlink(f.name))
        return f.name


class NodeArithmetic(unittest.TestCase):
    """The numbers of infra/terraform/modules/sizing/tests/sizing.tftest.hcl, by hand."""

    def test_memory_of_a_kvm2_node(self):
        n = capacity.node(figures(heap_bytes_per_idle_session=16 * 1024), Assumptions())
        self.assertEqual(n["pods_per_node"], 3)  # (8192 - 1536) / 2048
        self.assertEqual(n["pod_heap_mib"], 1228)  # 60 % of 2048
        self.assertEqual(n["sessions_per_pod"], 39296)  # 1228 MiB / 16 KiB * 0.5
        self.assertEqual(n["sessions_per_node_by_edge"], 12500)  # 50000 connections * 0.5 / 2

    def test_cpu_per_session_and_per_node(self):
        f = figures(cpu_us_per_session=1000, cpu_us_per_frame=10)
        n = capacity.node(f, Assumptions(round_trips=4, cross_node_share=0.05))
        self.assertEqual(n["cpu_us_per_session"], 1004)  # 1000 - 8*10 + 8*10*(1 + 0.05*(2-1))
        self.assertEqual(n["node_session_rate"], 996)  # 2 vCPU * 0.5 / 1004 us
        self.assertEqual(capacity.node(f, Assumptions(cross_node_share=0.3))["node_session_rate"], 976)


class Fleet(unittest.TestCase):
    def test_little_s_law_and_the_peak(self):
        a = Assumptions(daily_users=86400, sessions_per_user=10, peak_to_average=2, session_seconds=30, regions=(("x", 1.0),))
        m = capacity.fleet(FIG, a)
        self.assertAlmostEqual(m["avg_session_rate"], 10)
        self.assertEqual(m["regions"]["x"]["peak_session_rate"], 20)
        self.assertEqual(m["regions"]["x"]["peak_sessions"], 600)
        self.assertEqual(m["regions"]["x"]["nodes"], 2)  # min_nodes for a tiny load
        self.assertEqual(m["regions"]["x"]["binding"], "cpu")

    def test_region_shares_must_add_up_to_one(self):
        with self.assertRaisesRegex(ValueError, "add up to"):
            capacity.fleet(FIG, Assumptions(regions=(("a", 0.5), ("b", 0.4))))

    def test_doubling_sessions_doubles_the_rate_and_never_needs_fewer_nodes(self):
        base = capacity.fleet(FIG, Assumptions())
        double = capacity.fleet(FIG, capacity.scenario(Assumptions(), "sessions-x2"))
        self.assertAlmostEqual(double["peak_session_rate"], 2 * base["peak_session_rate"])
        for r in base["regions"]:
            self.assertGreaterEqual(double["regions"][r]["nodes"], base["regions"][r]["nodes"])
            self.assertAlmostEqual(double["regions"][r]["nats_memory_gib_per_server"],
                                   2 * base["regions"][r]["nats_memory_gib_per_server"], delta=0.01)

    def test_more_cross_node_sessions_cost_relay_cpu_nats_cpu_and_bandwidth(self):
        base = capacity.fleet(FIG, Assumptions())
        cross = capacity.fleet(FIG, capacity.scenario(Assumptions(), "cross-node-30"))
        self.assertGreater(base["node"]["node_session_rate"], cross["node"]["node_session_rate"])
        self.assertGreater(cross["regions"]["in"]["nats_cores_per_server"], base["regions"]["in"]["nats_cores_per_server"])
        self.assertGreater(cross["bandwidth_gbit_s"], base["bandwidth_gbit_s"])

    def test_nats_memory_follows_the_ticket_lifetime(self):
        long = capacity.fleet(FIG, Assumptions(ticket_ttl_seconds=600))["regions"]["eu"]["nats_memory_gib_per_server"]
        short = capacity.fleet(FIG, Assumptions(ticket_ttl_seconds=60))["regions"]["eu"]["nats_memory_gib_per_server"]
        self.assertAlmostEqual(long, 10 * short, delta=1e-6)

    def test_cheaper_sessions_move_the_limit_to_the_edge_s_connections(self):
        m = capacity.fleet(FIG, capacity.scenario(Assumptions(), "w8-target"))
        self.assertEqual(m["regions"]["in"]["binding"], "connections")

    def test_cost_is_nodes_times_price(self):
        m = capacity.fleet(FIG, Assumptions(price_usd=7))
        self.assertEqual(m["node_months_cost_usd"], 7 * m["total_nodes"])
        self.assertIsNone(capacity.fleet(FIG, Assumptions())["node_months_cost_usd"])


class Outputs(unittest.TestCase):
    def test_docs_capacity_md_shows_what_the_calculator_computes(self):
        doc = capacity.DOCS.read_text(encoding="utf-8")
        self.assertEqual(capacity.tables_in(doc), capacity.markdown(FIG, Assumptions()),
                         "docs/capacity.md is stale: run python3 infra/capacity/capacity.py --update-docs")

    def test_terraform_vars_carry_every_region_and_the_overrides(self):
        tf = capacity.terraform_vars(FIG, dataclasses.replace(Assumptions(), connections="shared", cpu_us_per_session=300))
        self.assertEqual(set(tf["peak_sessions"]), {k for k, _ in Assumptions().regions})
        self.assertEqual(set(tf["peak_session_rate"]), set(tf["peak_sessions"]))
        self.assertAlmostEqual(tf["heap_per_session_kib"] * 1024, FIG["measured"]["heap_bytes_per_idle_session_shared"]["value"])
        self.assertEqual(tf["cpu_us_per_session"], 300)

    def test_a_terraform_answer_that_differs_is_reported(self):
        a = Assumptions()
        m = capacity.fleet(FIG, a)
        n = m["node"]
        outputs = {k: {"value": float(n[k]) if k == "cpu_us_per_session" else n[k]} for k in (
            "pods_per_node", "pod_heap_mib", "sessions_per_pod", "sessions_per_node", "sessions_per_node_by_edge",
            "heap_bytes_per_session", "cpu_us_per_session", "node_session_rate")}
        outputs["nodes_per_region"] = {"value": {k: r["nodes"] for k, r in m["regions"].items()}}
        outputs["binding_limit"] = {"value": {k: r["binding"] for k, r in m["regions"].items()}}
        self.assertEqual(capacity.compare_terraform(FIG, a, outputs), [])
        outputs["nodes_per_region"]["value"]["eu"] += 1
        diffs = capacity.compare_terraform(FIG, a, outputs)
        self.assertEqual(len(diffs), 1)
        self.assertIn("nodes_per_region", diffs[0])

    def test_the_command_line(self):
        import io
        import contextlib
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            self.assertEqual(capacity.main(["--daily-users", "1e6", "--regions", "eu=1", "--json"]), 0)
        m = json.loads(buf.getvalue())
        self.assertEqual(list(m["regions"]), ["eu"])
        self.assertTrue(math.isclose(m["sessions_per_day"], 2e6))


if __name__ == "__main__":
    unittest.main()
