variables {
  plan          = "kvm2"
  peak_sessions = { eu = 100000, us = 0 }
}

run "defaults_are_the_figures_of_infra_capacity" {
  command = plan

  # The module and the calculator read one file; nothing is restated here but its path.
  assert {
    condition     = output.heap_bytes_per_session == jsondecode(file("../../../capacity/figures.json")).measured.heap_bytes_per_idle_session.value
    error_message = "heap per session must default to the measured figure, got ${output.heap_bytes_per_session}"
  }
  assert {
    condition = output.sessions_per_node_by_edge == floor(
      jsondecode(file("../../../capacity/figures.json")).configuration.edge_max_connections_per_node.value * 0.5 / 2
    )
    error_message = "the edge's connection cap must come from the figures file"
  }
  assert {
    condition = output.provisional_figures == sort([
      for k, f in jsondecode(file("../../../capacity/figures.json")).measured : k if f.status != "measured"
    ])
    error_message = "provisional figures must be listed"
  }
  # heap 60 % of 2048 = 1228 MiB, divided by the measured heap per session, half kept free.
  assert {
    condition = output.sessions_per_pod == floor(
      1228 * 1048576 / jsondecode(file("../../../capacity/figures.json")).measured.heap_bytes_per_idle_session.value * 0.5
    )
    error_message = "unexpected sessions per pod ${output.sessions_per_pod}"
  }
}

run "memory_kvm2" {
  command = plan
  variables {
    heap_per_session_kib          = 16
    edge_max_connections_per_node = 10000000 # memory alone; the edge's cap has its own run
  }

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
    condition     = output.binding_limit == { eu = "memory", us = "none" }
    error_message = "unexpected binding limits ${jsonencode(output.binding_limit)}"
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
    heap_per_session_kib          = 16
    edge_max_connections_per_node = 10000000
    peak_sessions                 = { ap = 1000000 }
  }
  # 1e6 / 117888 = 8.48 -> 9 + 1 spare.
  assert {
    condition     = output.nodes_per_region["ap"] == 10
    error_message = "expected 10 nodes, got ${output.nodes_per_region["ap"]}"
  }
}

run "cpu_binds_for_short_sessions" {
  command = plan
  variables {
    cpu_us_per_session    = 1000
    cpu_us_per_frame      = 10
    cross_node_cpu_factor = 2
    frames_per_session    = 8
    cross_node_share      = 0.05
    peak_sessions         = {}
    peak_session_rate     = { ap = 50000 }
  }
  # 1000 - 8 * 10 + 8 * 10 * (1 + 0.05 * (2 - 1)) = 1004 us; 2 vCPUs * 0.5 / 1004 us = 996 sessions/s.
  assert {
    condition     = output.cpu_us_per_session == 1004 && output.node_session_rate == 996
    error_message = "unexpected CPU per session ${output.cpu_us_per_session} / rate ${output.node_session_rate}"
  }
  # 50000 / 996 = 50.2 -> 51 + 1 spare.
  assert {
    condition     = output.nodes_per_region == { ap = 52 } && output.binding_limit == { ap = "cpu" }
    error_message = "unexpected ${jsonencode(output.nodes_per_region)} ${jsonencode(output.binding_limit)}"
  }
}

run "more_cross_node_sessions_cost_more_cpu" {
  command = plan
  variables {
    cpu_us_per_session    = 1000
    cpu_us_per_frame      = 10
    cross_node_cpu_factor = 2
    cross_node_share      = 0.3
  }
  # 920 + 80 * 1.3 = 1024 us -> 976 sessions/s.
  assert {
    condition     = output.cpu_us_per_session == 1024 && output.node_session_rate == 976
    error_message = "unexpected ${output.cpu_us_per_session} us / ${output.node_session_rate} per s"
  }
}

run "the_edge_connection_cap_binds_when_sessions_are_cheap_in_memory" {
  command = plan
  variables {
    heap_per_session_kib          = 1
    direct_per_session_kib        = 0
    edge_max_connections_per_node = 50000
  }
  # Memory: 3 pods * 628736 sessions -> 1 node; edge: 50000 * 0.5 / 2 = 12500 sessions per node -> 8, + 1 spare.
  assert {
    condition     = output.sessions_per_node_by_edge == 12500 && output.nodes_per_region["eu"] == 9
    error_message = "unexpected ${output.sessions_per_node_by_edge} / ${output.nodes_per_region["eu"]}"
  }
  assert {
    condition     = output.binding_limit["eu"] == "connections"
    error_message = "the edge's connections should bind, got ${output.binding_limit["eu"]}"
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

run "rejects_a_cross_node_share_above_one" {
  command = plan
  variables {
    cross_node_share = 1.5
  }
  expect_failures = [var.cross_node_share]
}
