# Provider-free: everything here is pure data, so it is tested offline with `terraform test`.

locals {
  # Hostinger VPS cities (hostinger/geofeed, see infra/README.md). The city string must match
  # `data.hostinger_vps_data_centers.*.data_centers[].city` exactly: the provider-bound root
  # resolves the numeric data_center_id from it. Coordinates feed Cloudflare proximity steering;
  # cf_region is the Cloudflare load-balancing region code the city lies in.
  catalog = {
    "Sao Paulo"  = { country = "BR", continent = "South America", latitude = -23.55, longitude = -46.63, cf_region = "SSAM" }
    "Campinas"   = { country = "BR", continent = "South America", latitude = -22.91, longitude = -47.06, cf_region = "SSAM" }
    "Vilnius"    = { country = "LT", continent = "Europe", latitude = 54.69, longitude = 25.28, cf_region = "EEU" }
    "Jakarta"    = { country = "ID", continent = "Asia", latitude = -6.21, longitude = 106.85, cf_region = "SEAS" }
    "Manchester" = { country = "GB", continent = "Europe", latitude = 53.48, longitude = -2.24, cf_region = "WEU" }
    "Asheville"  = { country = "US", continent = "North America", latitude = 35.60, longitude = -82.55, cf_region = "ENAM" }
    "Phoenix"    = { country = "US", continent = "North America", latitude = 33.45, longitude = -112.07, cf_region = "WNAM" }
    "Mumbai"     = { country = "IN", continent = "Asia", latitude = 19.08, longitude = 72.88, cf_region = "SAS" }
    "Singapore"  = { country = "SG", continent = "Asia", latitude = 1.35, longitude = 103.82, cf_region = "SEAS" }
    "Meppel"     = { country = "NL", continent = "Europe", latitude = 52.70, longitude = 6.19, cf_region = "WEU" }
    "Paris"      = { country = "FR", continent = "Europe", latitude = 48.86, longitude = 2.35, cf_region = "WEU" }
    "Sydney"     = { country = "AU", continent = "Oceania", latitude = -33.87, longitude = 151.21, cf_region = "OC" }
  }

  regions = {
    for key, r in var.regions : key => merge(local.catalog[r.city], {
      key          = key
      city         = r.city
      nodes        = r.nodes
      node_domain  = "${key}.nodes.${var.domain}"
      k3s_server   = "relay-${key}-0.${key}.nodes.${var.domain}"
      nats_gateway = "nats.${key}.nodes.${var.domain}"
    })
  }

  # One entry per VPS: "eu-0", "eu-1", ... Node 0 of every region is its k3s server.
  nodes = merge([
    for key, r in local.regions : {
      for i in range(r.nodes) : "${key}-${i}" => {
        region   = key
        index    = i
        name     = "relay-${key}-${i}"
        hostname = "relay-${key}-${i}.${r.node_domain}"
        role     = i == 0 ? "server" : "agent"
      }
    }
  ]...)
}
