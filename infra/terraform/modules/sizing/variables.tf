variable "plan" {
  description = "Hostinger KVM plan size: kvm1, kvm2, kvm4 or kvm8."
  type        = string
  default     = "kvm2"

  validation {
    condition     = contains(["kvm1", "kvm2", "kvm4", "kvm8"], var.plan)
    error_message = "plan must be one of kvm1, kvm2, kvm4, kvm8."
  }
}

variable "billing_period" {
  description = "Hostinger billing period suffix of the plan id: 1m, 12m or 24m."
  type        = string
  default     = "1m"

  validation {
    condition     = contains(["1m", "12m", "24m"], var.billing_period)
    error_message = "billing_period must be 1m, 12m or 24m."
  }
}

variable "system_reserved_mib" {
  description = "Memory per node kept away from relay pods: OS, k3s, Envoy, NATS, the collector agent."
  type        = number
  default     = 1536

  validation {
    condition     = var.system_reserved_mib >= 512 && var.system_reserved_mib <= 8192
    error_message = "system_reserved_mib must be between 512 and 8192."
  }
}

variable "relay_pod_memory_mib" {
  description = "Memory limit of one relay pod (must match deploy/k8s relay StatefulSet resources.limits.memory)."
  type        = number
  default     = 2048

  validation {
    condition     = var.relay_pod_memory_mib >= 512 && var.relay_pod_memory_mib <= 16384
    error_message = "relay_pod_memory_mib must be between 512 and 16384."
  }
}

variable "heap_percent" {
  description = "-XX:MaxRAMPercentage of the relay JVM (the image, Jib in relay-service/pom.xml, uses 60)."
  type        = number
  default     = 60

  validation {
    condition     = var.heap_percent >= 25 && var.heap_percent <= 80
    error_message = "heap_percent must be between 25 and 80; the rest holds Netty direct buffers, metaspace and thread stacks."
  }
}

variable "heap_per_session_kib" {
  description = "Heap per idle paired session; null = the measured figure in infra/capacity/figures.json (heap_bytes_per_idle_session, one connection per participant). About 7.15 for gRPC clients multiplexed behind Envoy (heap_bytes_per_idle_session_shared)."
  type        = number
  default     = null

  validation {
    condition     = var.heap_per_session_kib == null ? true : var.heap_per_session_kib >= 1 && var.heap_per_session_kib <= 1024
    error_message = "heap_per_session_kib must be between 1 and 1024."
  }
}

variable "direct_per_session_kib" {
  description = "Netty direct (off-heap) memory per session; null = the assumption in infra/capacity/figures.json (about 2 KiB per connection, two connections per session)."
  type        = number
  default     = null

  validation {
    condition     = var.direct_per_session_kib == null ? true : var.direct_per_session_kib >= 0 && var.direct_per_session_kib <= 1024
    error_message = "direct_per_session_kib must be between 0 and 1024."
  }
}

variable "headroom" {
  description = "Share of the theoretical capacity kept free for bursts, active (non-idle) sessions and GC. 0.5 = plan for half."
  type        = number
  default     = 0.5

  validation {
    condition     = var.headroom >= 0.1 && var.headroom <= 0.9
    error_message = "headroom must be between 0.1 and 0.9."
  }
}

variable "peak_sessions" {
  description = "Region key => expected peak concurrent sessions in that region (sessions per second x session length)."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.peak_sessions) : v >= 0])
    error_message = "peak_sessions must not be negative."
  }
}

variable "spare_nodes" {
  description = "Nodes added per region beyond the computed need (N+1 for maintenance and node loss)."
  type        = number
  default     = 1

  validation {
    condition     = var.spare_nodes >= 0 && var.spare_nodes <= 5
    error_message = "spare_nodes must be between 0 and 5."
  }
}

variable "min_nodes" {
  description = "Minimum nodes per region (2 keeps a region up through a rolling upgrade)."
  type        = number
  default     = 2

  validation {
    condition     = var.min_nodes >= 1
    error_message = "min_nodes must be at least 1."
  }
}

variable "monthly_price_usd" {
  description = "Plan key => monthly price in USD as shown in hPanel for your billing period (prices change; none is assumed)."
  type        = map(number)
  default     = {}
}

variable "peak_session_rate" {
  description = "Region key => expected peak sessions set up per second in that region (regions may appear here, in peak_sessions, or both)."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.peak_session_rate) : v >= 0])
    error_message = "peak_session_rate must not be negative."
  }
}

variable "frames_per_session" {
  description = "Frames a session relays in both directions together (a round trip is two)."
  type        = number
  default     = 8

  validation {
    condition     = var.frames_per_session >= 0
    error_message = "frames_per_session must not be negative."
  }
}

variable "cross_node_share" {
  description = "Share of sessions whose participants land on different nodes (their frames cost two relays)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.cross_node_share >= 0 && var.cross_node_share <= 1
    error_message = "cross_node_share must be between 0 and 1."
  }
}

variable "relay_cpu_share" {
  description = "Share of a node's vCPUs the relays may use at peak; the rest is for Envoy (TLS), NATS, the OS and bursts."
  type        = number
  default     = 0.5

  validation {
    condition     = var.relay_cpu_share > 0 && var.relay_cpu_share <= 1
    error_message = "relay_cpu_share must be in (0, 1]."
  }
}

variable "cpu_us_per_session" {
  description = "Relay CPU microseconds per measured session shape; null = infra/capacity/figures.json (cpu_us_per_session)."
  type        = number
  default     = null
}

variable "cpu_us_per_frame" {
  description = "Relay CPU microseconds per relayed frame; null = infra/capacity/figures.json (cpu_us_per_frame)."
  type        = number
  default     = null
}

variable "cross_node_cpu_factor" {
  description = "Relay CPU of a cross-node frame in node-local frames; null = infra/capacity/figures.json (an assumption)."
  type        = number
  default     = null
}

variable "edge_max_connections_per_node" {
  description = "Downstream connections the node's Envoy accepts; null = infra/capacity/figures.json (envoy/envoy.yaml's overload manager)."
  type        = number
  default     = null
}
