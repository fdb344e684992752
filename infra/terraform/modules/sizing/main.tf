# Provider-free capacity arithmetic. All figures are per region unless a name says otherwise.
#
# The per-node figures (heap and CPU per session, CPU per frame, the edge's connection cap) come
# from infra/capacity/figures.json, the one file the capacity calculator (infra/capacity/capacity.py)
# reads too; every variable that overrides one defaults to null = that file. infra/check.sh applies
# this module and the calculator to the same inputs and fails if their answers differ.

locals {
  figures     = jsondecode(file("${path.module}/../../../capacity/figures.json"))
  measured    = local.figures.measured
  config      = local.figures.configuration
  assumptions = local.figures.assumptions

  # Hostinger KVM line-up (vCPU, RAM). Plan ids follow `hostingercom-vps-<plan>-usd-<period>`.
  plans = {
    kvm1 = { vcpus = 1, memory_mib = 4096 }
    kvm2 = { vcpus = 2, memory_mib = 8192 }
    kvm4 = { vcpus = 4, memory_mib = 16384 }
    kvm8 = { vcpus = 8, memory_mib = 32768 }
  }

  plan         = local.plans[var.plan]
  plan_id      = "hostingercom-vps-${var.plan}-usd-${var.billing_period}"
  relay_budget = local.plan.memory_mib - var.system_reserved_mib

  # --- Memory: concurrent sessions ---

  heap_bytes   = var.heap_per_session_kib == null ? local.measured.heap_bytes_per_idle_session.value : var.heap_per_session_kib * 1024
  direct_bytes = var.direct_per_session_kib == null ? local.assumptions.direct_bytes_per_session.value : var.direct_per_session_kib * 1024

  # Relay pods that fit on one node (memory is the binding constraint for idle sessions).
  pods_per_node = max(0, floor(local.relay_budget / var.relay_pod_memory_mib))

  # One pod: heap = MaxRAMPercentage of the container limit; sessions = heap / per-session cost,
  # scaled down by the headroom. Direct memory must fit in what the heap leaves over.
  pod_heap_mib          = floor(var.relay_pod_memory_mib * var.heap_percent / 100)
  pod_sessions_by_heap  = floor(local.pod_heap_mib * 1048576 / local.heap_bytes * (1 - var.headroom))
  pod_offheap_mib       = var.relay_pod_memory_mib - local.pod_heap_mib
  pod_direct_budget_mib = floor(local.pod_offheap_mib / 2) # the other half: metaspace, code cache, stacks
  pod_sessions_by_direct = (local.direct_bytes == 0 ? local.pod_sessions_by_heap :
  floor(local.pod_direct_budget_mib * 1048576 / local.direct_bytes * (1 - var.headroom)))
  pod_sessions = min(local.pod_sessions_by_heap, local.pod_sessions_by_direct)

  node_sessions = local.pods_per_node * local.pod_sessions

  # --- Connections: the edge on every node stops accepting at its cap ---

  edge_max_connections  = coalesce(var.edge_max_connections_per_node, local.config.edge_max_connections_per_node.value)
  node_sessions_by_edge = floor(local.edge_max_connections * (1 - var.headroom) / local.config.connections_per_session.value)

  # --- CPU: sessions per second ---

  cpu_us_per_session_measured = coalesce(var.cpu_us_per_session, local.measured.cpu_us_per_session.value)
  cpu_us_per_frame            = coalesce(var.cpu_us_per_frame, local.measured.cpu_us_per_frame.value)
  cross_node_cpu_factor       = coalesce(var.cross_node_cpu_factor, local.assumptions.cross_node_cpu_factor.value)
  # The measured session minus its own frames, plus this model's frames; a frame of a cross-node
  # session is handled by two relays.
  cpu_us_per_session = (local.cpu_us_per_session_measured
    -local.config.w8_frames_per_session.value * local.cpu_us_per_frame
  + var.frames_per_session * local.cpu_us_per_frame * (1 + var.cross_node_share * (local.cross_node_cpu_factor - 1)))
  node_session_rate = floor(local.plan.vcpus * var.relay_cpu_share * 1000000 / local.cpu_us_per_session)

  # --- Nodes per region: the largest of the three needs, at least min_nodes, plus spares ---

  regions = setunion(keys(var.peak_sessions), keys(var.peak_session_rate))
  need = {
    for r in local.regions : r => {
      memory      = local.node_sessions == 0 ? 0 : ceil(lookup(var.peak_sessions, r, 0) / local.node_sessions)
      connections = ceil(lookup(var.peak_sessions, r, 0) / local.node_sessions_by_edge)
      cpu         = ceil(lookup(var.peak_session_rate, r, 0) / local.node_session_rate)
    }
  }
  nodes = {
    for r, n in local.need : r => max(var.min_nodes, max(n.memory, n.connections, n.cpu) + var.spare_nodes)
  }
  binding = {
    for r, n in local.need : r => (
      max(n.memory, n.connections, n.cpu) == 0 ? "none" :
      n.cpu >= n.memory && n.cpu >= n.connections ? "cpu" :
      n.memory >= n.connections ? "memory" : "connections"
    )
  }

  provisional = sort([for k, f in local.measured : k if f.status != "measured"])

  price = lookup(var.monthly_price_usd, var.plan, null)
}
