variables {
  domain = "example.com"
  regions = {
    eu = { city = "Vilnius", nodes = 3 }
    us = { city = "Phoenix" }
    ap = { city = "Singapore", nodes = 2 }
  }
}

run "maps_cities_and_nodes" {
  command = plan

  assert {
    condition     = output.cities == { eu = "Vilnius", us = "Phoenix", ap = "Singapore" }
    error_message = "region => city mapping is wrong"
  }
  assert {
    condition     = length(output.nodes) == 7
    error_message = "expected 3 + 2 (default) + 2 nodes"
  }
  assert {
    condition     = output.nodes["eu-0"].role == "server" && output.nodes["eu-2"].role == "agent"
    error_message = "node 0 must be the k3s server, the others agents"
  }
  assert {
    condition     = output.nodes["us-1"].hostname == "relay-us-1.us.nodes.example.com"
    error_message = "unexpected node host name"
  }
  assert {
    condition     = output.regions["eu"].cf_region == "EEU" && output.regions["us"].cf_region == "WNAM"
    error_message = "Cloudflare region codes are wrong"
  }
  assert {
    condition     = output.regions["eu"].k3s_server == output.nodes["eu-0"].hostname
    error_message = "k3s server name must be node 0's host name"
  }
}

run "rejects_unknown_city" {
  command = plan
  variables {
    regions = { eu = { city = "Frankfurt" } }
  }
  expect_failures = [var.regions]
}

run "rejects_bad_region_key" {
  command = plan
  variables {
    regions = { "EU-West" = { city = "Paris" } }
  }
  expect_failures = [var.regions]
}

run "rejects_zero_nodes" {
  command = plan
  variables {
    regions = { eu = { city = "Paris", nodes = 0 } }
  }
  expect_failures = [var.regions]
}

run "rejects_duplicate_city" {
  command = plan
  variables {
    regions = { eu = { city = "Paris" }, fr = { city = "Paris" } }
  }
  expect_failures = [var.regions]
}

run "rejects_bad_domain" {
  command = plan
  variables {
    domain = "Example..com"
  }
  expect_failures = [var.domain]
}
