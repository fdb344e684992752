# Provider-bound root: kept thin on purpose. All decisions (names, sizing, bootstrap content, DNS
# data) live in the provider-free modules under ../../modules, which are tested offline.
#
# DANGER: creating a hostinger_vps buys a subscription; destroying one CANCELS it. See guard.tf
# and infra/README.md ("Costs and the destroy guard").

module "regions" {
  source  = "../../modules/regions"
  domain  = var.domain
  regions = var.regions
}

module "sizing" {
  source         = "../../modules/sizing"
  plan           = var.plan
  billing_period = var.billing_period
  peak_sessions  = var.peak_sessions
}

module "bootstrap" {
  source   = "../../modules/bootstrap"
  for_each = module.regions.regions

  region      = each.key
  k3s_server  = each.value.k3s_server
  k3s_version = var.k3s_version
  admin_cidrs = var.admin_cidrs
}

data "hostinger_vps_data_centers" "all" {}

data "hostinger_vps_templates" "all" {}

locals {
  # Data-centre ids are not published; resolve them from the city names (one() fails loudly if a
  # city is missing or ambiguous).
  data_center_id = {
    for key, r in module.regions.regions :
    key => one([for dc in data.hostinger_vps_data_centers.all.data_centers : dc.id if dc.city == r.city])
  }
  template_id = one([for t in data.hostinger_vps_templates.all.templates : t.id if t.name == var.template_name])
}

resource "hostinger_vps_ssh_key" "ops" {
  name = "checkmate-relay-ops"
  key  = var.ops_ssh_public_key
}

resource "hostinger_vps_post_install_script" "bootstrap" {
  for_each = module.regions.regions

  name    = "checkmate-relay-${each.key}"
  content = module.bootstrap[each.key].script
}

resource "hostinger_vps" "node" {
  for_each = module.regions.nodes

  plan                   = module.sizing.plan_id
  data_center_id         = local.data_center_id[each.value.region]
  template_id            = local.template_id
  hostname               = each.value.hostname
  ssh_key_ids            = [hostinger_vps_ssh_key.ops.id]
  post_install_script_id = hostinger_vps_post_install_script.bootstrap[each.value.region].id

  lifecycle {
    # Destroy == subscription cancellation. Remove this only through the runbook in infra/README.md.
    prevent_destroy = true
    # A new template_id reinstalls the OS in place; a new script only matters at install time.
    ignore_changes = [template_id, post_install_script_id]
  }
}
