# Provider-free capacity arithmetic. All figures are per region unless a name says otherwise.

locals {
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

  # Relay pods that fit on one node (memory is the binding constraint for idle sessions).
  pods_per_node = max(0, floor(local.relay_budget / var.relay_pod_memory_mib))

  # One pod: heap = MaxRAMPercentage of the container limit; sessions = heap / per-session cost,
  # scaled down by the headroom. Direct memory must fit in what the heap leaves over.
  pod_heap_mib          = floor(var.relay_pod_memory_mib * var.heap_percent / 100)
  pod_sessions_by_heap  = floor(local.pod_heap_mib * 1024 / var.heap_per_session_kib * (1 - var.headroom))
  pod_offheap_mib       = var.relay_pod_memory_mib - local.pod_heap_mib
  pod_direct_budget_mib = floor(local.pod_offheap_mib / 2) # the other half: metaspace, code cache, stacks
  pod_sessions_by_direct = (var.direct_per_session_kib == 0 ? local.pod_sessions_by_heap :
  floor(local.pod_direct_budget_mib * 1024 / var.direct_per_session_kib * (1 - var.headroom)))
  pod_sessions = min(local.pod_sessions_by_heap, local.pod_sessions_by_direct)

  node_sessions = local.pods_per_node * local.pod_sessions

  nodes = {
    for region, peak in var.peak_sessions : region => max(
      var.min_nodes,
      (local.node_sessions == 0 ? 0 : ceil(peak / local.node_sessions)) + var.spare_nodes
    )
  }

  price = lookup(var.monthly_price_usd, var.plan, null)
}
