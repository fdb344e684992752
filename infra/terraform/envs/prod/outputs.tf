output "node_ipv4" {
  description = "Node key => public IPv4. Feed it to `relay-peers` on the nodes (infra/README.md)."
  value       = { for k, n in hostinger_vps.node : k => n.ipv4_address }
}

output "bootstrap_sha256" {
  description = "Region => checksum of the post-install script; compare with sha256sum /post_install."
  value       = { for k, b in module.bootstrap : k => b.sha256 }
}

output "sizing" {
  description = "Capacity plan for the chosen Hostinger plan."
  value = {
    plan_id             = module.sizing.plan_id
    sessions_per_pod    = module.sizing.sessions_per_pod
    connections_per_pod = module.sizing.connections_per_pod
    sessions_per_node   = module.sizing.sessions_per_node
    nodes_per_region    = module.sizing.nodes_per_region
  }
}

output "relay_fqdn" {
  value = module.dns.relay_fqdn
}
