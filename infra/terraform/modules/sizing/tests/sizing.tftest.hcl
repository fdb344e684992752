variables {
  plan          = "kvm2"
  peak_sessions = { eu = 100000, us = 0 }
}

run "defaults_kvm2" {
  command = plan

  # 8192 - 1536 = 6656 MiB for relays -> 3 pods of 2048 MiB.
  assert {
    condition     = output.pods_per_node == 3
    error_message = "expected 3 relay pods per kvm2 node, got ${output.pods_per_node}"
  }
  # heap 60 % of 2048 = 1228 MiB; 1228 * 1024 / 16 * 0.5 = 39296 sessions.
  assert {
    condition     = output.pod_heap_mib == 1228 && output.sessions_per_pod == 39296
    error_message = "unexpected heap ${output.pod_heap_mib} / sessions ${output.sessions_per_pod}"
  }
  assert {
    condition     = output.connections_per_pod == 2 * output.sessions_per_pod
    error_message = "two connections per session"
  }
  # 100000 / (3 * 39296) -> 1 node + 1 spare = 2; an empty region still gets min_nodes = 2.
  assert {
    condition     = output.nodes_per_region == { eu = 2, us = 2 }
    error_message = "unexpected node counts"
  }
  assert {
    condition     = output.plan_id == "hostingercom-vps-kvm2-usd-1m"
    error_message = "unexpected plan id ${output.plan_id}"
  }
  assert {
    condition     = output.monthly_cost_usd["eu"] == null
    error_message = "no price given, cost must be null"
  }
}

run "direct_memory_binds_when_large" {
  command = plan
  variables {
    direct_per_session_kib = 64
    monthly_price_usd      = { kvm2 = 10 }
  }
  # off-heap 820 MiB, half for direct = 410 MiB; 410 * 1024 / 64 * 0.5 = 3280 sessions per pod.
  assert {
    condition     = output.sessions_per_pod == 3280
    error_message = "direct memory should bind, got ${output.sessions_per_pod}"
  }
  assert {
    condition     = output.monthly_cost_usd["eu"] == output.nodes_per_region["eu"] * 10
    error_message = "cost must be nodes * price"
  }
}

run "large_peak_scales_out" {
  command = plan
  variables {
    peak_sessions = { ap = 1000000 }
  }
  # 1e6 / 117888 = 8.48 -> 9 + 1 spare.
  assert {
    condition     = output.nodes_per_region["ap"] == 10
    error_message = "expected 10 nodes, got ${output.nodes_per_region["ap"]}"
  }
}

run "pod_too_big_for_plan" {
  command = plan
  variables {
    plan                 = "kvm1"
    relay_pod_memory_mib = 4096
  }
  expect_failures = [output.pods_per_node]
}

run "rejects_unknown_plan" {
  command = plan
  variables {
    plan = "kvm3"
  }
  expect_failures = [var.plan]
}

run "rejects_headroom_out_of_range" {
  command = plan
  variables {
    headroom = 0.95
  }
  expect_failures = [var.headroom]
}
