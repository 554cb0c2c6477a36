# Inputs of the AWS target only.

variable "region" {
  type        = string
  description = "AWS region, such as eu-central-1."

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[0-9]$", var.region))
    error_message = "region must be an AWS region such as eu-central-1."
  }
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type for VM runners (apex, nadir)."
  default     = "t3.medium"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like t3.medium."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets: the first one for a VM, all of them for a Fargate service."

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must hold at least one subnet id (subnet-0123abcd)."
  }
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the instance or task."
  default     = []

  validation {
    condition     = alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "security_group_ids must be security group ids (sg-0123abcd)."
  }
}

variable "ecs_cluster_arn" {
  type        = string
  description = "ECS cluster for serverless runners; empty for VM runners."
  default     = ""

  validation {
    condition     = var.ecs_cluster_arn == "" || can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$", var.ecs_cluster_arn))
    error_message = "ecs_cluster_arn must be empty or an ECS cluster ARN."
  }
}

variable "assign_public_ip" {
  type        = bool
  description = "Give the instance or task a public address."
  default     = false
}
