variables {
  domain = "example.com"
  regions = {
    eu = { latitude = 54.69, longitude = 25.28, cf_region = "EEU", node_domain = "eu.nodes.example.com" }
    us = { latitude = 33.45, longitude = -112.07, cf_region = "WNAM", node_domain = "us.nodes.example.com" }
    ap = { latitude = 1.35, longitude = 103.82, cf_region = "SEAS", node_domain = "ap.nodes.example.com" }
  }
  nodes = {
    "eu-0" = { region = "eu", name = "relay-eu-0", ipv4 = "192.0.2.10" }
    "eu-1" = { region = "eu", name = "relay-eu-1", ipv4 = "192.0.2.11" }
    "us-0" = { region = "us", name = "relay-us-0", ipv4 = "198.51.100.10" }
    "ap-0" = { region = "ap", name = "relay-ap-0", ipv4 = "203.0.113.10" }
  }
}

run "records_pools_and_steering" {
  command = plan

  assert {
    condition     = output.node_records["eu-1"].name == "relay-eu-1.eu.nodes.example.com" && output.node_records["eu-1"].content == "192.0.2.11"
    error_message = "wrong node record"
  }
  assert {
    condition     = alltrue([for r in values(output.node_records) : r.proxied == false && r.type == "A"])
    error_message = "node records must be DNS-only A records"
  }
  assert {
    condition     = [for o in output.pools["eu"].origins : o.address] == ["192.0.2.10", "192.0.2.11"]
    error_message = "eu pool must hold both eu nodes in order"
  }
  assert {
    condition     = output.pools["us"].latitude == 33.45 && output.pools["us"].name == "relay-us"
    error_message = "pool coordinates/name wrong"
  }
  assert {
    condition     = output.region_pools["WEU"][0] == "eu" && output.region_pools["WNAM"][0] == "us" && output.region_pools["OC"][0] == "ap"
    error_message = "region_pools must list the nearest region first: ${jsonencode(output.region_pools)}"
  }
  assert {
    condition     = output.region_pools["NEAS"] == ["ap", "eu", "us"]
    error_message = "NEAS ordering wrong: ${jsonencode(output.region_pools["NEAS"])}"
  }
  assert {
    condition     = alltrue([for v in values(output.region_pools) : length(v) == 3])
    error_message = "every Cloudflare region must list every pool (failover)"
  }
  assert {
    condition     = output.load_balancer.proxied == false && output.load_balancer.ttl == 30 && output.load_balancer.name == "relay.example.com"
    error_message = "load balancer must be DNS-only with a low TTL"
  }
  assert {
    condition     = output.monitor.path == "/healthz" && output.monitor.header.Host == ["relay.example.com"]
    error_message = "monitor must probe /healthz with the relay Host header"
  }
}

run "rejects_bad_ipv4" {
  command = plan
  variables {
    nodes = { "eu-0" = { region = "eu", name = "relay-eu-0", ipv4 = "300.1.2.3" } }
  }
  expect_failures = [var.nodes]
}

run "rejects_high_ttl" {
  command = plan
  variables {
    ttl = 3600
  }
  expect_failures = [var.ttl]
}

run "rejects_unknown_steering" {
  command = plan
  variables {
    steering_policy = "round_robin"
  }
  expect_failures = [var.steering_policy]
}

run "pool_below_minimum_origins" {
  command = plan
  variables {
    minimum_origins = 2
  }
  expect_failures = [output.pools]
}
