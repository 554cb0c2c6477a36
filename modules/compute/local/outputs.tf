output "instance_id" {
  description = "Id of the runner instance (here: the terraform_data id); kept while the runner is stopped."
  value       = terraform_data.instance.id
}

output "address" {
  description = "Private address of the runner."
  value       = "127.0.0.1"
}

output "public_address" {
  description = "Public address of the runner, empty when it has none."
  value       = ""
}

output "hostname" {
  description = "Host name of the runner."
  value       = local.hostname
}

output "labels" {
  description = "Labels/tags applied to the runner, including egg, runner-id and managed-by."
  value       = local.labels
}

output "pid_file" {
  description = "File holding the runner process id (local target only)."
  value       = local.pid_file
}

output "running" {
  description = "Whether the runner process runs (false: stopped and kept, the Nadir pool)."
  value       = length(terraform_data.runner) > 0
}
