terraform {
  required_version = ">= 1.9.0"

  required_providers {
    hostinger = {
      source  = "hostinger/hostinger"
      version = "= 0.1.22" # exact: the argument allowlist in infra/tools/provider-allowlist.json is transcribed from this release
    }
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "~> 5.0"
    }
  }

  # State holds VPS ids and IPs (no secrets: tokens come from the environment). Keep it out of
  # git and on a backed-up, access-controlled path; losing it means importing every VPS by id.
  backend "local" {
    path = "terraform.tfstate"
  }
}
