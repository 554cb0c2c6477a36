# Run from tests/offline (make test-modules): the module's variables and locals
# without the Yandex plugin. Every rule accepts a good value and rejects a bad one.

variables {
  name            = "payments-runner"
  egg             = "payments-api"
  runner_id       = "r-yc-1"
  runner_type     = "apex"
  image           = "fd8abcdefghijklmnopq"
  region          = "ru-central1-a"
  folder_id       = "b1gabcdefghijklmnopq"
  subnet_id       = "e9babcdefghijklmnopq"
  mothergoose_url = "https://mothergoose.example.com"
  secret_uris     = { RUNNER_TOKEN = "yc-lockbox://e6qabcdefghijklmnopq/runner-token" }
  tags            = { team = "payments" }
}

run "vm_defaults" {
  command = plan

  assert {
    condition     = output.labels == { team = "payments", egg = "payments-api", "runner-id" = "r-yc-1", "managed-by" = "polar-gosling" }
    error_message = "labels do not carry egg, runner-id and managed-by"
  }

  assert {
    condition     = startswith(output.user_data, "#cloud-config\n") && strcontains(output.user_data, "gosling-runner.service")
    error_message = "user data does not install the agent service"
  }

  assert {
    condition     = strcontains(output.user_data, "yc-lockbox://e6qabcdefghijklmnopq/runner-token") && strcontains(output.user_data, "GOSLING_MOTHERGOOSE_URL='https://mothergoose.example.com'")
    error_message = "user data does not carry the MotherGoose URL and secret URIs"
  }
}

run "serverless_good" {
  command = plan

  variables {
    runner_type        = "serverless"
    image              = "cr.yandex/crpabcdefghijklmnopq/gosling-runner:1.4"
    subnet_id          = ""
    service_account_id = "ajeabcdefghijklmnopq"
    max_job_minutes    = 60
    cpu                = 1
    memory_mb          = 2048
  }
}

run "other_zones_good" {
  command = plan
  variables {
    region        = "ru-central1-d"
    platform_id   = "standard-v2"
    core_fraction = 20
  }
}

run "bad_zone" {
  command = plan
  variables {
    region = "ru-central1-c"
  }
  expect_failures = [var.region]
}

run "bad_folder_id" {
  command = plan
  variables {
    folder_id = "my-folder"
  }
  expect_failures = [var.folder_id]
}

run "bad_subnet_id" {
  command = plan
  variables {
    subnet_id = "subnet-0123abcd"
  }
  expect_failures = [var.subnet_id]
}

run "bad_service_account_id" {
  command = plan
  variables {
    service_account_id = "SA"
  }
  expect_failures = [var.service_account_id]
}

run "bad_platform" {
  command = plan
  variables {
    platform_id = "gpu-standard-v3"
  }
  expect_failures = [var.platform_id]
}

run "bad_core_fraction" {
  command = plan
  variables {
    core_fraction = 30
  }
  expect_failures = [var.core_fraction]
}

run "bad_runner_type" {
  command = plan
  variables {
    runner_type = "SERVERLESS"
  }
  expect_failures = [var.runner_type]
}

run "bad_disk" {
  command = plan
  variables {
    disk_gb = 5
  }
  expect_failures = [var.disk_gb]
}

run "bad_mothergoose_url" {
  command = plan
  variables {
    mothergoose_url = "mothergoose.example.com"
  }
  expect_failures = [var.mothergoose_url]
}

run "serverless_over_60_minutes" {
  command = plan
  variables {
    runner_type        = "serverless"
    service_account_id = "ajeabcdefghijklmnopq"
    max_job_minutes    = 61
  }
  expect_failures = [output.limits]
}

run "serverless_too_big" {
  command = plan
  variables {
    runner_type        = "serverless"
    service_account_id = "ajeabcdefghijklmnopq"
    memory_mb          = 16384
  }
  expect_failures = [output.limits]
}

run "serverless_without_service_account" {
  command = plan
  variables {
    runner_type = "serverless"
  }
  expect_failures = [output.limits]
}

run "vm_without_subnet" {
  command = plan
  variables {
    subnet_id = ""
  }
  expect_failures = [output.limits]
}

# The power state: the input is accepted and computed as in every module, but
# the yandex module cannot apply it (its output power_managed says so; see
# main.tf). These runs check the accepted values only.
run "power_input_accepted" {
  command = plan
  variables {
    running = false
  }
  assert {
    condition     = !output.running && output.agent_env.GOSLING_RUNNER_TYPE == "apex"
    error_message = "running = false must be accepted without changing runner_type"
  }
}

run "power_nadir_made_stopped" {
  command = plan
  variables {
    runner_type = "nadir"
  }
  assert {
    condition     = !output.running
    error_message = "a runner made as nadir is meant stopped when running is unset"
  }
}

run "power_serverless_cannot_stop" {
  command = plan
  variables {
    runner_type        = "serverless"
    service_account_id = "ajeabcdefghijklmnopq"
    running            = false
  }
  expect_failures = [output.limits]
}
