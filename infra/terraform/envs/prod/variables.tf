variable "domain" {
  description = "Cloudflare zone that holds relay.<domain> and the node records."
  type        = string
}

variable "cloudflare_account_id" {
  description = "Cloudflare account id (pools and monitors are account-level)."
  type        = string
}

variable "cloudflare_zone_id" {
  description = "Cloudflare zone id of var.domain."
  type        = string
}

variable "regions" {
  description = "Region key => { city, nodes }. See modules/regions for the accepted cities."
  type = map(object({
    city  = string
    nodes = optional(number, 2)
  }))
}

variable "plan" {
  description = "Hostinger KVM plan for every node (kvm1, kvm2, kvm4, kvm8)."
  type        = string
  default     = "kvm2"
}

variable "billing_period" {
  description = "Hostinger billing period: 1m, 12m or 24m."
  type        = string
  default     = "1m"
}

variable "peak_sessions" {
  description = "Region key => expected peak sessions; only used for the sizing output (nodes stay as configured)."
  type        = map(number)
  default     = {}
}

variable "template_name" {
  description = "Exact name of the OS template in data.hostinger_vps_templates (Ubuntu 24.04 LTS)."
  type        = string
  default     = "Ubuntu 24.04 64bit"
}

variable "ops_ssh_public_key" {
  description = "Public SSH key installed on every node (public: safe in tfvars)."
  type        = string
}

variable "admin_cidrs" {
  description = "IPv4 CIDRs allowed to SSH and the Kubernetes API."
  type        = list(string)
}

variable "k3s_version" {
  description = "Pinned k3s release for every region."
  type        = string
  default     = "v1.33.5+k3s1"
}

variable "relay_name" {
  description = "Public relay label: relay => relay.<domain>."
  type        = string
  default     = "relay"
}

variable "steering_policy" {
  description = "Cloudflare steering policy: proximity, geo or dynamic_latency."
  type        = string
  default     = "proximity"
}
