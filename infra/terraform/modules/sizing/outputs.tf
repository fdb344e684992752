output "plan_id" {
  description = "Hostinger plan id for hostinger_vps.plan."
  value       = local.plan_id
}

output "node_memory_mib" {
  value = local.plan.memory_mib
}

output "pods_per_node" {
  description = "Relay pods that fit on one node next to the system reservation."
  value       = local.pods_per_node

  precondition {
    condition     = local.pods_per_node >= 1
    error_message = "Not even one relay pod fits on this plan: choose a bigger plan or a smaller relay_pod_memory_mib."
  }
}

output "pod_heap_mib" {
  description = "Heap of one relay pod (MaxRAMPercentage of its memory limit)."
  value       = local.pod_heap_mib
}

output "pod_max_direct_memory_mib" {
  description = "Value for -XX:MaxDirectMemorySize in one relay pod."
  value       = local.pod_direct_budget_mib
}

output "sessions_per_pod" {
  description = "Planned concurrent sessions per relay pod, after headroom."
  value       = local.pod_sessions
}

output "connections_per_pod" {
  description = "Planned open client connections per pod (two per paired session): the autoscaling target."
  value       = local.pod_sessions * 2
}

output "sessions_per_node" {
  description = "Concurrent sessions one node holds in memory (all its pods), after headroom."
  value       = local.node_sessions
}

output "sessions_per_node_by_edge" {
  description = "Concurrent sessions one node's edge accepts connections for (two per session), after headroom."
  value       = local.node_sessions_by_edge
}

output "heap_bytes_per_session" {
  description = "Heap per idle paired session used (measured figure unless overridden)."
  value       = local.heap_bytes
}

output "cpu_us_per_session" {
  description = "Relay CPU microseconds per session of this model (frames, cross-node share) derived from the measured session."
  value       = local.cpu_us_per_session
}

output "node_session_rate" {
  description = "Sessions per second one node sets up and relays with relay_cpu_share of its vCPUs."
  value       = local.node_session_rate
}

output "binding_limit" {
  description = "Region key => what sets its node count: cpu, memory, connections, or none (min_nodes)."
  value       = local.binding
}

output "provisional_figures" {
  description = "Figures of infra/capacity/figures.json that are not measured by a benchmark yet (see its replace_with)."
  value       = local.provisional
}

output "nodes_per_region" {
  description = "Region key => nodes needed for its peak sessions and session rate (at least min_nodes, plus spare_nodes)."
  value       = local.nodes
}

output "monthly_cost_usd" {
  description = "Region key => monthly cost, or null when no price was given for the plan."
  value       = { for r, n in local.nodes : r => local.price == null ? null : n * local.price }
}
