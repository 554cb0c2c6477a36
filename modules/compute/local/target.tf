# Inputs of the local target only.

variable "region" {
  type        = string
  description = "Always local for this target."
  default     = "local"

  validation {
    condition     = var.region == "local"
    error_message = "region must be local for the local target."
  }
}

variable "work_dir" {
  type        = string
  description = "Absolute directory for the runner's pid and log files."

  validation {
    condition     = startswith(var.work_dir, "/") && !strcontains(var.work_dir, "'") && !strcontains(var.work_dir, "..")
    error_message = "work_dir must be an absolute path without quotes or .. elements."
  }
}

variable "runner_command" {
  type        = string
  description = "Command started (with /bin/sh -c) as the runner process; it gets the GOSLING_* environment."
  default     = "sleep 86400"

  validation {
    condition     = length(trimspace(var.runner_command)) > 0
    error_message = "runner_command must not be empty."
  }
}
