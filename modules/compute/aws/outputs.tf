output "instance_id" {
  description = "EC2 instance id, or the ECS service id for serverless runners."
  value       = local.is_serverless ? one(aws_ecs_service.runner[*].id) : one(aws_instance.runner[*].id)
}

output "address" {
  description = "Private IPv4 address; empty for serverless runners (tasks get theirs at start)."
  value       = local.is_serverless ? "" : one(aws_instance.runner[*].private_ip)
}

output "public_address" {
  description = "Public IPv4 address, empty when there is none."
  value       = local.is_serverless ? "" : one(aws_instance.runner[*].public_ip)
}

output "hostname" {
  description = "Private DNS name of the instance, or the service name."
  value       = local.is_serverless ? var.name : one(aws_instance.runner[*].private_dns)
}

output "labels" {
  description = "Tags applied to the runner, including egg, runner-id and managed-by."
  value       = local.labels
}

output "running" {
  description = "Whether the VM runner's instance is to run (aws_ec2_instance_state); false for serverless runners' none."
  value       = !local.is_serverless && local.running
}
