# Provider-free description of the public DNS: per-node records, one Cloudflare pool per region,
# one health monitor and the load-balancer settings. The provider-bound root only maps this data
# onto cloudflare_* resources.

locals {
  relay_fqdn = "${var.relay_name}.${var.domain}"

  node_records = {
    for key, n in var.nodes : key => {
      name    = "${n.name}.${var.regions[n.region].node_domain}"
      type    = "A"
      content = n.ipv4
      ttl     = var.node_record_ttl
      proxied = false
      comment = "relay node ${n.name} (managed by Terraform)"
    }
  }

  pools = {
    for region, r in var.regions : region => {
      name        = "relay-${region}"
      description = "CheckMate relay, region ${region}"
      latitude    = r.latitude
      longitude   = r.longitude
      origins = [
        for key in sort([for k, n in var.nodes : k if n.region == region]) : {
          name    = var.nodes[key].name
          address = var.nodes[key].ipv4
          enabled = true
          weight  = 1
        }
      ]
      minimum_origins = var.minimum_origins
    }
  }

  # Representative coordinates of Cloudflare's load-balancing regions, used to order the pools
  # for `geo` steering (nearest first). Terraform has no trigonometry, so the distance is a flat
  # approximation with longitude wrap-around; good enough to rank a handful of data centres.
  cf_region_points = {
    WNAM = { lat = 40, lon = -115 }
    ENAM = { lat = 40, lon = -80 }
    NSAM = { lat = 5, lon = -70 }
    SSAM = { lat = -25, lon = -55 }
    WEU  = { lat = 50, lon = 3 }
    EEU  = { lat = 52, lon = 25 }
    ME   = { lat = 27, lon = 48 }
    NAF  = { lat = 30, lon = 10 }
    SAF  = { lat = -20, lon = 25 }
    SAS  = { lat = 20, lon = 78 }
    SEAS = { lat = 5, lon = 105 }
    NEAS = { lat = 35, lon = 125 }
    OC   = { lat = -30, lon = 145 }
  }

  region_pools = {
    for code, p in local.cf_region_points : code => [
      for ranked in sort([
        for region, r in var.regions : format("%010.1f|%s",
          pow(r.latitude - p.lat, 2) + pow(min(abs(r.longitude - p.lon), 360 - abs(r.longitude - p.lon)), 2),
        region)
      ]) : split("|", ranked)[1]
    ]
  }

  # Failover order when no steering data applies: region keys sorted alphabetically.
  pool_order = sort(keys(var.regions))

  monitor = {
    type             = "https"
    method           = "GET"
    path             = var.health_path
    port             = var.health_port
    expected_codes   = "200"
    interval         = var.monitor_interval
    timeout          = 5
    retries          = 2
    follow_redirects = false
    allow_insecure   = false
    header           = { Host = [local.relay_fqdn] }
    description      = "Envoy /healthz on ${local.relay_fqdn}"
  }

  load_balancer = {
    name            = local.relay_fqdn
    ttl             = var.ttl
    proxied         = false # DNS-only: Cloudflare's proxy would cut long-lived gRPC/WebSocket streams
    steering_policy = var.steering_policy
    location_strategy = {
      mode       = "resolver_ip"
      prefer_ecs = "always"
    }
  }
}
