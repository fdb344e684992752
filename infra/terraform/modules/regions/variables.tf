variable "domain" {
  description = "DNS zone that holds the relay and node names, e.g. example.com."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a lower-case DNS name such as example.com."
  }
}

variable "regions" {
  description = <<-EOT
    Region key => placement. Keys are short codes used in every name (eu, us, ap).
    city is a Hostinger data-centre city (resolved to a data_center_id by the provider-bound root);
    nodes is the number of VPSes (k3s nodes) in that region.
  EOT
  type = map(object({
    city  = string
    nodes = optional(number, 2)
  }))

  validation {
    condition     = length(var.regions) >= 1 && length(var.regions) <= 6
    error_message = "Define between 1 and 6 regions."
  }

  validation {
    condition     = alltrue([for k in keys(var.regions) : can(regex("^[a-z]{2,6}$", k))])
    error_message = "Region keys must be 2-6 lower-case letters (they become part of host names)."
  }

  validation {
    condition = alltrue([for r in values(var.regions) : contains([
      "Sao Paulo", "Campinas", "Vilnius", "Jakarta", "Manchester", "Asheville",
      "Phoenix", "Mumbai", "Singapore", "Meppel", "Paris", "Sydney",
    ], r.city)])
    error_message = "Unknown city. Known Hostinger VPS cities: Sao Paulo, Campinas, Vilnius, Jakarta, Manchester, Asheville, Phoenix, Mumbai, Singapore, Meppel, Paris, Sydney."
  }

  validation {
    condition     = alltrue([for r in values(var.regions) : r.nodes >= 1 && r.nodes <= 20 && floor(r.nodes) == r.nodes])
    error_message = "nodes must be a whole number between 1 and 20 per region."
  }

  validation {
    condition     = length(distinct([for r in values(var.regions) : r.city])) == length(var.regions)
    error_message = "Two regions share one city; a region is one data centre."
  }
}
