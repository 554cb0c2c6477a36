# The local target needs no provider plugin: terraform_data and local-exec are
# built into OpenTofu, so `tofu init` works offline.
terraform {
  required_version = ">= 1.6.0"
}
