# Negative fixture for check-hcl.mjs: every block below must be reported (see infra/check.sh).
terraform {
  required_providers {
    hostinger = {
      source  = "hostinger/hostinger"
      version = ">= 0.1.0"
    }
  }
}

resource "hostinger_vps" "no_guard" {
  plan           = "hostingercom-vps-kvm2-usd-1m"
  data_center_id = 13
  template_id    = 1
  root_password  = "not-an-argument"
}

resource "hostinger_vps_firewall" "not_in_0_1_22" {
  name = "edge"
}

resource "cloudflare_load_balancer_pool" "bad_origin" {
  name    = "p"
  origins = [{ name = "a", address = "192.0.2.1", hostname = "x" }]
}

output "ip" {
  value = hostinger_vps.no_guard.public_ip
}
