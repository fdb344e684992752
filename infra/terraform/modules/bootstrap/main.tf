# Renders the Hostinger post-install script for one region. Provider-free and secret-free:
# the script is stored by Hostinger and visible in hPanel, so keys, tokens and credentials are
# delivered after boot (infra/README.md, "Secrets").

locals {
  script = templatefile("${path.module}/bootstrap.sh.tftpl", {
    region              = var.region
    k3s_server          = var.k3s_server
    k3s_version         = var.k3s_version
    admin_cidrs         = var.admin_cidrs
    public_tcp_ports    = var.public_tcp_ports
    https_redirect_port = var.https_redirect_port
    nats_gateway_port   = var.nats_gateway_port
  })

  # Hostinger rejects post-install scripts above 48 KB.
  max_bytes = 48 * 1024
}
