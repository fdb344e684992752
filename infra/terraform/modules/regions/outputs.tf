output "regions" {
  description = "Region key => city, country, coordinates, Cloudflare region code, node count and derived names."
  value       = local.regions
}

output "nodes" {
  description = "Node key (region-index) => region, index, short name, FQDN host name and k3s role."
  value       = local.nodes
}

output "cities" {
  description = "Region key => Hostinger data-centre city."
  value       = { for k, r in local.regions : k => r.city }
}
