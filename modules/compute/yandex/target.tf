# Inputs of the Yandex Cloud target only.

variable "region" {
  type        = string
  description = "Availability zone, such as ru-central1-a."

  validation {
    condition     = contains(["ru-central1-a", "ru-central1-b", "ru-central1-d"], var.region)
    error_message = "region must be one of the zones ru-central1-a, ru-central1-b, ru-central1-d."
  }
}

variable "folder_id" {
  type        = string
  description = "Folder the runner is created in."

  validation {
    condition     = can(regex("^[a-z0-9]{20}$", var.folder_id))
    error_message = "folder_id must be a Yandex Cloud id (20 characters of a-z0-9)."
  }
}

variable "subnet_id" {
  type        = string
  description = "Subnet of a VM runner; empty for serverless runners."
  default     = ""

  validation {
    condition     = var.subnet_id == "" || can(regex("^[a-z0-9]{20}$", var.subnet_id))
    error_message = "subnet_id must be empty or a Yandex Cloud id."
  }
}

variable "service_account_id" {
  type        = string
  description = "Service account the runner acts as (reads its Lockbox secrets)."
  default     = ""

  validation {
    condition     = var.service_account_id == "" || can(regex("^[a-z0-9]{20}$", var.service_account_id))
    error_message = "service_account_id must be empty or a Yandex Cloud id."
  }
}

variable "platform_id" {
  type        = string
  description = "Compute platform of a VM runner."
  default     = "standard-v3"

  validation {
    condition     = contains(["standard-v1", "standard-v2", "standard-v3"], var.platform_id)
    error_message = "platform_id must be standard-v1, standard-v2 or standard-v3."
  }
}

variable "core_fraction" {
  type        = number
  description = "Guaranteed vCPU share of a VM runner, in percent."
  default     = 100

  validation {
    condition     = contains([5, 20, 50, 100], var.core_fraction)
    error_message = "core_fraction must be 5, 20, 50 or 100."
  }
}

variable "preemptible" {
  type        = bool
  description = "Create a preemptible VM."
  default     = false
}

variable "assign_public_ip" {
  type        = bool
  description = "Give the VM a public (NAT) address."
  default     = false
}
