output "script" {
  description = "The rendered post-install script (content of hostinger_vps_post_install_script)."
  value       = local.script

  precondition {
    condition     = length(local.script) < local.max_bytes
    error_message = "The bootstrap script is ${length(local.script)} bytes; Hostinger's limit is 48 KB."
  }

  precondition {
    condition     = startswith(local.script, "#!")
    error_message = "A post-install script must start with a shebang."
  }
}

output "size_bytes" {
  description = "Size of the rendered script (characters; the template is ASCII, so also bytes)."
  value       = length(local.script)
}

output "sha256" {
  description = "Checksum of the rendered script; compare with /post_install on a node."
  value       = sha256(local.script)
}
