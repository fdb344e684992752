variables {
  region      = "eu"
  k3s_server  = "relay-eu-0.eu.nodes.example.com"
  k3s_version = "v1.33.5+k3s1"
  admin_cidrs = ["203.0.113.7/32", "198.51.100.0/24"]
}

run "renders" {
  command = plan

  assert {
    condition     = startswith(output.script, "#!/usr/bin/env bash\n")
    error_message = "script must start with a bash shebang"
  }
  assert {
    condition     = output.size_bytes < 49152
    error_message = "script exceeds Hostinger's 48 KB limit"
  }
  assert {
    condition     = strcontains(output.script, "readonly K3S_VERSION='v1.33.5+k3s1'") && strcontains(output.script, "readonly REGION='eu'")
    error_message = "template variables not rendered"
  }
  assert {
    condition     = strcontains(output.script, "elements = { 203.0.113.7/32, 198.51.100.0/24 }")
    error_message = "admin CIDRs must land in the nftables admin set"
  }
  assert {
    condition     = strcontains(output.script, "tcp dport { 443, 8443, 8444 } accept")
    error_message = "public ports rule missing"
  }
  assert {
    condition     = !strcontains(output.script, "%%{") && !strcontains(output.script, "$${")
    error_message = "unrendered template syntax left in the script"
  }
}

run "rejects_channel_version" {
  command = plan
  variables {
    k3s_version = "stable"
  }
  expect_failures = [var.k3s_version]
}

run "rejects_empty_admin_cidrs" {
  command = plan
  variables {
    admin_cidrs = []
  }
  expect_failures = [var.admin_cidrs]
}

run "rejects_exposing_ssh_publicly" {
  command = plan
  variables {
    public_tcp_ports = [443, 22]
  }
  expect_failures = [var.public_tcp_ports]
}

run "rejects_bad_cidr" {
  command = plan
  variables {
    admin_cidrs = ["203.0.113.7"]
  }
  expect_failures = [var.admin_cidrs]
}
