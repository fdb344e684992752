variable "domain" {
  description = "Cloudflare zone name, e.g. example.com."
  type        = string
}

variable "relay_name" {
  description = "Label of the public relay host name inside the zone (relay => relay.example.com)."
  type        = string
  default     = "relay"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.relay_name))
    error_message = "relay_name must be one DNS label."
  }
}

variable "regions" {
  description = "Output `regions` of the regions module (needs latitude, longitude, cf_region, node_domain)."
  type = map(object({
    latitude    = number
    longitude   = number
    cf_region   = string
    node_domain = string
  }))
}

variable "nodes" {
  description = "Node key => { region, name, ipv4 }; ipv4 may be unknown until the VPS exists."
  type = map(object({
    region = string
    name   = string
    ipv4   = string
  }))

  validation {
    condition = alltrue([for n in values(var.nodes) : can(regex(
      "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$", n.ipv4
    ))])
    error_message = "Every node needs a valid IPv4 address."
  }
}

variable "ttl" {
  description = "TTL of the load-balanced name. Low, so a failed region leaves resolvers quickly (DNS-only: gRPC streams are long-lived)."
  type        = number
  default     = 30

  validation {
    condition     = var.ttl >= 30 && var.ttl <= 120
    error_message = "ttl must be between 30 and 120 seconds."
  }
}

variable "node_record_ttl" {
  description = "TTL of the per-node A records (k3s join, NATS gateways, SSH)."
  type        = number
  default     = 300

  validation {
    condition     = var.node_record_ttl >= 60 && var.node_record_ttl <= 86400
    error_message = "node_record_ttl must be between 60 and 86400 (Cloudflare's range for non-Enterprise zones)."
  }
}

variable "steering_policy" {
  description = "Cloudflare steering: proximity (pool coordinates), geo (region_pools) or dynamic_latency."
  type        = string
  default     = "proximity"

  validation {
    condition     = contains(["proximity", "geo", "dynamic_latency"], var.steering_policy)
    error_message = "steering_policy must be proximity, geo or dynamic_latency."
  }
}

variable "health_port" {
  description = "Port the monitor probes (Envoy TLS listener, published on 443)."
  type        = number
  default     = 443
}

variable "health_path" {
  description = "HTTP path answered by Envoy's health_check filter: 200 while enough relays are healthy."
  type        = string
  default     = "/healthz"

  validation {
    condition     = startswith(var.health_path, "/")
    error_message = "health_path must start with /."
  }
}

variable "monitor_interval" {
  description = "Seconds between health checks."
  type        = number
  default     = 30

  validation {
    condition     = var.monitor_interval >= 10 && var.monitor_interval <= 3600
    error_message = "monitor_interval must be between 10 and 3600."
  }
}

variable "minimum_origins" {
  description = "Healthy nodes a region needs to stay in DNS."
  type        = number
  default     = 1
}
