# Offline test wrapper: the module's own variables.tf, target.tf and locals.tf
# (symlinks) without its resources, so `tofu test` can check every validation
# rule and the provider-free values with no provider plugin installed.

output "labels" {
  value = local.labels
}

output "agent_env" {
  value = local.agent_env
}

output "user_data" {
  value = local.user_data
}

output "is_serverless" {
  value = local.is_serverless
}

output "running" {
  value = local.running
}
