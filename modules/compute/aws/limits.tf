# Rules that relate several inputs. They are output preconditions, checked at
# plan, rather than validation blocks naming other variables, which need
# OpenTofu >= 1.9 while these modules support >= 1.6.
output "limits" {
  description = "The limits the inputs were checked against."
  value       = { max_job_minutes = var.max_job_minutes, fargate_cpu = var.cpu * 1024 }

  precondition {
    condition     = var.runner_type != "serverless" || var.max_job_minutes <= 60
    error_message = "max_job_minutes must be at most 60 for serverless runners (the serverless time limit)."
  }

  precondition {
    condition     = var.runner_type != "serverless" || (contains([1, 2, 4, 8, 16], var.cpu) && var.memory_mb >= var.cpu * 2048 && var.memory_mb <= min(var.cpu * 8192, 122880) && var.memory_mb % 1024 == 0)
    error_message = "serverless (Fargate) runners need cpu 1, 2, 4, 8 or 16 and memory_mb a multiple of 1024 from 2048 to 8192 per vCPU (at most 122880)."
  }

  precondition {
    condition     = var.runner_type != "serverless" || var.ecs_cluster_arn != ""
    error_message = "ecs_cluster_arn is required for serverless runners."
  }

  precondition {
    condition     = var.runner_type == "serverless" || can(regex("^ami-[0-9a-f]{8,17}$", var.image))
    error_message = "image must be an AMI id (ami-...) for apex and nadir runners."
  }

  precondition {
    condition     = var.runner_type != "serverless" || var.running != false
    error_message = "a serverless runner cannot be stopped (running = false): it lives for one job."
  }
}
