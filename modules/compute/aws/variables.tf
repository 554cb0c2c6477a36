# Inputs shared by every target (local, aws, yandex). Keep these declarations
# identical across modules/compute/*/variables.tf; adapters/tofu checks it.

variable "name" {
  type        = string
  description = "Runner name; becomes the host and resource name."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.name))
    error_message = "name must match ^[a-z][a-z0-9-]{0,62}$ (a DNS label)."
  }
}

variable "egg" {
  type        = string
  description = "The egg (or eggs bucket) the runner serves."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.egg))
    error_message = "egg must match ^[a-z][a-z0-9-]{0,62}$."
  }
}

variable "runner_id" {
  type        = string
  description = "MotherGoose runner id."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.runner_id))
    error_message = "runner_id must match ^[a-z0-9][a-z0-9-]{0,62}$."
  }
}

variable "runner_type" {
  type        = string
  description = "serverless (one job, 60 min max), apex (active VM) or nadir (dormant, stopped VM)."

  validation {
    condition     = contains(["serverless", "apex", "nadir"], var.runner_type)
    error_message = "runner_type must be one of serverless, apex, nadir."
  }
}

variable "cpu" {
  type        = number
  description = "vCPUs."
  default     = 2

  validation {
    condition     = var.cpu >= 1 && var.cpu <= 128 && floor(var.cpu) == var.cpu
    error_message = "cpu must be a whole number from 1 to 128."
  }
}

variable "memory_mb" {
  type        = number
  description = "Memory in MiB."
  default     = 4096

  validation {
    condition     = var.memory_mb >= 512 && var.memory_mb <= 524288 && floor(var.memory_mb) == var.memory_mb
    error_message = "memory_mb must be a whole number from 512 to 524288."
  }
}

variable "disk_gb" {
  type        = number
  description = "Boot disk in GiB (ignored for serverless)."
  default     = 20

  validation {
    condition     = var.disk_gb >= 10 && var.disk_gb <= 10240 && floor(var.disk_gb) == var.disk_gb
    error_message = "disk_gb must be a whole number from 10 to 10240."
  }
}

variable "image" {
  type        = string
  description = "VM image id or container image reference, by target and runner type."

  validation {
    condition     = length(var.image) > 0 && length(var.image) <= 255 && can(regex("^[A-Za-z0-9][A-Za-z0-9._:/@-]*$", var.image))
    error_message = "image must be 1..255 characters of [A-Za-z0-9._:/@-], starting with a letter or digit."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra labels/tags; egg, runner-id and managed-by are added by the module."
  default     = {}

  validation {
    condition     = length(var.tags) <= 40
    error_message = "tags may hold at most 40 entries."
  }

  validation {
    condition     = alltrue([for k, v in var.tags : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "tag keys must match ^[a-z][a-z0-9_-]{0,62}$ and values ^[a-z0-9_-]{0,63}$."
  }

  validation {
    condition     = length(setintersection(keys(var.tags), ["egg", "runner-id", "managed-by"])) == 0
    error_message = "tags must not set the reserved keys egg, runner-id, managed-by."
  }
}

variable "mothergoose_url" {
  type        = string
  description = "Base URL of MotherGoose that the runner agent registers with."

  validation {
    condition     = can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\\s]*)?$", var.mothergoose_url))
    error_message = "mothergoose_url must be an http(s) URL."
  }
}

variable "secret_uris" {
  type        = map(string)
  description = "Environment variable name => secret URI the agent resolves at start. URIs only, never secret values."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.secret_uris : can(regex("^[A-Z][A-Z0-9_]{0,63}$", k))])
    error_message = "secret_uris keys must be environment variable names (^[A-Z][A-Z0-9_]{0,63}$)."
  }

  validation {
    condition     = alltrue([for k, v in var.secret_uris : can(regex("^(yc-lockbox|aws-sm|vault|env|file)://[^\\s]+$", v))])
    error_message = "secret_uris values must be secret URIs (yc-lockbox://, aws-sm://, vault://, env://, file://)."
  }
}

variable "agent_version" {
  type        = string
  description = "Gosling agent version to install, or latest."
  default     = "latest"

  validation {
    condition     = var.agent_version == "latest" || can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$", var.agent_version))
    error_message = "agent_version must be latest or a semantic version such as 0.3.0."
  }
}

variable "max_job_minutes" {
  type        = number
  description = "Longest job the runner takes; serverless targets stop at 60 minutes."
  default     = 60

  validation {
    condition     = var.max_job_minutes >= 1 && var.max_job_minutes <= 1440 && floor(var.max_job_minutes) == var.max_job_minutes
    error_message = "max_job_minutes must be a whole number from 1 to 1440."
  }
}

variable "running" {
  type        = bool
  description = "Desired power state: true runs the runner, false stops it and keeps it (disk or workspace, identity): the Nadir pool. null: running unless runner_type is nadir."
  default     = null
}
