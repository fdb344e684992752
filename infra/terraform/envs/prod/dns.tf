module "dns" {
  source = "../../modules/dns"

  domain          = var.domain
  relay_name      = var.relay_name
  regions         = module.regions.regions
  steering_policy = var.steering_policy
  nodes = {
    for key, n in module.regions.nodes : key => {
      region = n.region
      name   = n.name
      ipv4   = hostinger_vps.node[key].ipv4_address
    }
  }
}

resource "cloudflare_dns_record" "node" {
  for_each = module.dns.node_records

  zone_id = var.cloudflare_zone_id
  name    = each.value.name
  type    = each.value.type
  content = each.value.content
  ttl     = each.value.ttl
  proxied = each.value.proxied
  comment = each.value.comment
}

resource "cloudflare_load_balancer_monitor" "relay" {
  account_id       = var.cloudflare_account_id
  type             = module.dns.monitor.type
  method           = module.dns.monitor.method
  path             = module.dns.monitor.path
  port             = module.dns.monitor.port
  expected_codes   = module.dns.monitor.expected_codes
  interval         = module.dns.monitor.interval
  timeout          = module.dns.monitor.timeout
  retries          = module.dns.monitor.retries
  follow_redirects = module.dns.monitor.follow_redirects
  allow_insecure   = module.dns.monitor.allow_insecure
  header           = module.dns.monitor.header
  description      = module.dns.monitor.description
}

resource "cloudflare_load_balancer_pool" "region" {
  for_each = module.dns.pools

  account_id      = var.cloudflare_account_id
  name            = each.value.name
  description     = each.value.description
  origins         = each.value.origins
  latitude        = each.value.latitude
  longitude       = each.value.longitude
  minimum_origins = each.value.minimum_origins
  monitor         = cloudflare_load_balancer_monitor.relay.id
  enabled         = true
}

resource "cloudflare_load_balancer" "relay" {
  zone_id         = var.cloudflare_zone_id
  name            = module.dns.load_balancer.name
  description     = "CheckMate relay: nearest healthy region"
  proxied         = module.dns.load_balancer.proxied
  ttl             = module.dns.load_balancer.ttl
  steering_policy = module.dns.load_balancer.steering_policy

  default_pools = [for key in module.dns.pool_order : cloudflare_load_balancer_pool.region[key].id]
  fallback_pool = cloudflare_load_balancer_pool.region[module.dns.pool_order[0]].id
  region_pools = {
    for code, keys in module.dns.region_pools : code => [for key in keys : cloudflare_load_balancer_pool.region[key].id]
  }
  location_strategy = module.dns.load_balancer.location_strategy
  session_affinity  = "none"
}
