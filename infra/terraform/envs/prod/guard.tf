# Second line of defence behind prevent_destroy: if someone removes prevent_destroy, a destroy of
# the nodes still has to pass this resource first. It depends on every VPS, so Terraform destroys
# it before any of them, and its destroy-time provisioner fails unless the operator has typed the
# acknowledgement into the environment:
#   RELAY_ALLOW_DESTROY=cancel-hostinger-subscriptions terraform destroy ...
resource "terraform_data" "destroy_guard" {
  input = sort([for n in hostinger_vps.node : n.id])

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["/bin/sh", "-c"]
    command     = "if [ \"$RELAY_ALLOW_DESTROY\" != cancel-hostinger-subscriptions ]; then echo 'REFUSING: destroying hostinger_vps cancels paid subscriptions. See infra/README.md.' >&2; exit 1; fi"
  }

  lifecycle {
    prevent_destroy = true
  }
}
