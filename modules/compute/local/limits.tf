# Rules that relate several inputs. They are output preconditions, checked at
# plan, rather than validation blocks naming other variables, which need
# OpenTofu >= 1.9 while these modules support >= 1.6.
output "limits" {
  description = "The limits the inputs were checked against."
  value       = { max_job_minutes = var.max_job_minutes }

  precondition {
    condition     = var.runner_type != "serverless" || var.max_job_minutes <= 60
    error_message = "max_job_minutes must be at most 60 for serverless runners (the serverless time limit)."
  }

  precondition {
    condition     = var.runner_type != "serverless" || var.running != false
    error_message = "a serverless runner cannot be stopped (running = false): it lives for one job."
  }
}
