variable "region" {
  description = "Region key (eu, us, ap); becomes a node label and part of names."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2,6}$", var.region))
    error_message = "region must be 2-6 lower-case letters."
  }
}

variable "k3s_server" {
  description = "FQDN of the region's k3s server (node 0). Agents join it on :6443."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.k3s_server))
    error_message = "k3s_server must be a lower-case FQDN."
  }
}

variable "k3s_version" {
  description = "Pinned k3s release, e.g. v1.33.5+k3s1 (the installer and binary are fetched for exactly this tag)."
  type        = string

  validation {
    condition     = can(regex("^v1\\.[0-9]+\\.[0-9]+\\+k3s[0-9]+$", var.k3s_version))
    error_message = "k3s_version must look like v1.33.5+k3s1 (never a channel such as stable or latest)."
  }
}

variable "admin_cidrs" {
  description = "IPv4 CIDRs allowed to reach SSH (22) and the Kubernetes API (6443). Never empty."
  type        = list(string)

  validation {
    condition     = length(var.admin_cidrs) >= 1 && alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && can(regex("^[0-9.]+/[0-9]+$", c))])
    error_message = "admin_cidrs must hold at least one IPv4 CIDR such as 203.0.113.7/32."
  }
}

variable "public_tcp_ports" {
  description = "TCP ports open to the world: 443 (redirected to Envoy 8443), Envoy 8443 (TLS) and 8444 (mTLS)."
  type        = list(number)
  default     = [443, 8443, 8444]

  validation {
    condition     = alltrue([for p in var.public_tcp_ports : p > 0 && p < 65536 && !contains([22, 2379, 2380, 4222, 6222, 6443, 7222, 8222, 9090, 9464, 10250], p)])
    error_message = "public_tcp_ports must be valid ports and must not expose SSH, k3s, etcd, kubelet, NATS or the relay's internal ports."
  }
}

variable "https_redirect_port" {
  description = "Envoy TLS listener that public port 443 is redirected to."
  type        = number
  default     = 8443
}

variable "nats_gateway_port" {
  description = "NATS gateway port, reachable only from other regions' nodes (set by relay-peers)."
  type        = number
  default     = 7222
}
