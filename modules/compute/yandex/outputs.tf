output "instance_id" {
  description = "Compute instance id, or the Serverless Container id."
  value       = local.is_serverless ? one(yandex_serverless_container.runner[*].id) : one(yandex_compute_instance.runner[*].id)
}

output "address" {
  description = "Internal IPv4 address; empty for serverless runners."
  value       = local.is_serverless ? "" : one(yandex_compute_instance.runner[*].network_interface[0].ip_address)
}

output "public_address" {
  description = "Public (NAT) IPv4 address, empty when there is none."
  value       = local.is_serverless ? "" : one(yandex_compute_instance.runner[*].network_interface[0].nat_ip_address)
}

output "hostname" {
  description = "FQDN of the VM, or the container's invoke URL."
  value       = local.is_serverless ? one(yandex_serverless_container.runner[*].url) : one(yandex_compute_instance.runner[*].fqdn)
}

output "labels" {
  description = "Labels applied to the runner, including egg, runner-id and managed-by."
  value       = local.labels
}

output "running" {
  description = "The desired power state of a VM runner as given; NOT applied by this module (see power_managed)."
  value       = !local.is_serverless && local.running
}

output "power_managed" {
  description = "false: this module cannot stop the VM (the provider has no stopped state); a Nadir VM keeps running until an adapter stops it through the Compute API."
  value       = false
}
