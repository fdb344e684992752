output "relay_fqdn" {
  value = local.relay_fqdn
}

output "node_records" {
  description = "Node key => A record (name, type, content, ttl, proxied, comment)."
  value       = local.node_records
}

output "pools" {
  description = "Region key => Cloudflare pool data (name, origins, coordinates, minimum_origins)."
  value       = local.pools

  precondition {
    condition     = alltrue([for p in values(local.pools) : length(p.origins) >= var.minimum_origins])
    error_message = "A region has fewer nodes than minimum_origins: its pool could never be healthy."
  }
}

output "pool_order" {
  description = "Region keys in default failover order."
  value       = local.pool_order
}

output "region_pools" {
  description = "Cloudflare region code => region keys, nearest first (used by geo steering)."
  value       = local.region_pools
}

output "monitor" {
  value = local.monitor
}

output "load_balancer" {
  value = local.load_balancer
}
