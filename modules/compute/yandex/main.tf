# apex and nadir runners are Compute VMs; serverless runners are a Serverless
# Container. Only the resources of the runner's type are created (count), but
# `tofu init` needs the Yandex plugin either way.
#
# Not yet: the power state. The yandex provider's yandex_compute_instance has
# no desired stopped state, so running = false is accepted but the VM keeps
# running (output power_managed is false); stopping a Nadir VM needs the
# Compute API (instances/{id}:stop and :start), which no adapter calls yet.

resource "yandex_compute_instance" "runner" {
  count = local.is_serverless ? 0 : 1

  name                      = var.name
  hostname                  = var.name
  folder_id                 = var.folder_id
  zone                      = var.region
  platform_id               = var.platform_id
  service_account_id        = var.service_account_id == "" ? null : var.service_account_id
  allow_stopping_for_update = true
  labels                    = local.labels

  resources {
    cores         = var.cpu
    memory        = var.memory_mb / 1024
    core_fraction = var.core_fraction
  }

  boot_disk {
    initialize_params {
      image_id = var.image
      size     = var.disk_gb
      type     = "network-ssd"
    }
  }

  network_interface {
    subnet_id = var.subnet_id
    nat       = var.assign_public_ip
  }

  scheduling_policy {
    preemptible = var.preemptible
  }

  metadata = {
    user-data = local.user_data
  }
}

resource "yandex_serverless_container" "runner" {
  count = local.is_serverless ? 1 : 0

  name               = var.name
  folder_id          = var.folder_id
  cores              = var.cpu
  memory             = var.memory_mb
  execution_timeout  = "${var.max_job_minutes * 60}s"
  service_account_id = var.service_account_id
  labels             = local.labels

  image {
    url         = var.image
    command     = ["gosling", "runner"]
    environment = local.agent_env
  }
}
