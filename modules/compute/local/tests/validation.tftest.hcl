# Every validation rule accepts a good value and rejects a bad one. Plans only.

variables {
  name            = "dev-runner"
  egg             = "payments-api"
  runner_id       = "r-valid-1"
  runner_type     = "apex"
  image           = "local"
  mothergoose_url = "https://mothergoose.example.com"
}

run "good_values_plan" {
  command = plan

  variables {
    cpu             = 128
    memory_mb       = 512
    disk_gb         = 10240
    tags            = { team = "a", env = "" }
    secret_uris     = { TOKEN = "yc-lockbox://e6q8abc/runner-token", HOOK = "aws-sm://gitlab/hook", V = "vault://kv/ci/token", F = "file:///run/s", E = "env://X" }
    agent_version   = "0.3.0-rc.1"
    max_job_minutes = 60
    runner_type     = "serverless"
  }
}

run "bad_name" {
  command = plan
  variables {
    name = "Bad_Name"
  }
  expect_failures = [var.name]
}

run "bad_egg" {
  command = plan
  variables {
    egg = "-egg"
  }
  expect_failures = [var.egg]
}

run "bad_runner_id" {
  command = plan
  variables {
    runner_id = "R 1"
  }
  expect_failures = [var.runner_id]
}

run "bad_runner_type" {
  command = plan
  variables {
    runner_type = "vm"
  }
  expect_failures = [var.runner_type]
}

run "bad_cpu_zero" {
  command = plan
  variables {
    cpu = 0
  }
  expect_failures = [var.cpu]
}

run "bad_cpu_fraction" {
  command = plan
  variables {
    cpu = 1.5
  }
  expect_failures = [var.cpu]
}

run "bad_memory" {
  command = plan
  variables {
    memory_mb = 256
  }
  expect_failures = [var.memory_mb]
}

run "bad_disk" {
  command = plan
  variables {
    disk_gb = 10241
  }
  expect_failures = [var.disk_gb]
}

run "bad_image" {
  command = plan
  variables {
    image = "my image"
  }
  expect_failures = [var.image]
}

run "bad_tag_key" {
  command = plan
  variables {
    tags = { "Team" = "a" }
  }
  expect_failures = [var.tags]
}

run "reserved_tag_key" {
  command = plan
  variables {
    tags = { "managed-by" = "me" }
  }
  expect_failures = [var.tags]
}

run "bad_mothergoose_url" {
  command = plan
  variables {
    mothergoose_url = "ftp://mothergoose"
  }
  expect_failures = [var.mothergoose_url]
}

run "bad_secret_uri_value" {
  command = plan
  variables {
    secret_uris = { TOKEN = "hunter2" }
  }
  expect_failures = [var.secret_uris]
}

run "bad_secret_uri_key" {
  command = plan
  variables {
    secret_uris = { "token" = "env://X" }
  }
  expect_failures = [var.secret_uris]
}

run "bad_agent_version" {
  command = plan
  variables {
    agent_version = "v1"
  }
  expect_failures = [var.agent_version]
}

run "bad_max_job_minutes" {
  command = plan
  variables {
    max_job_minutes = 0
  }
  expect_failures = [var.max_job_minutes]
}

run "bad_region" {
  command = plan
  variables {
    region = "eu-central-1"
  }
  expect_failures = [var.region]
}

run "bad_work_dir" {
  command = plan
  variables {
    work_dir = "relative/dir"
  }
  expect_failures = [var.work_dir]
}

run "bad_runner_command" {
  command = plan
  variables {
    runner_command = "  "
  }
  expect_failures = [var.runner_command]
}

run "serverless_over_60_minutes" {
  command = plan
  variables {
    runner_type     = "serverless"
    max_job_minutes = 61
  }
  expect_failures = [output.limits]
}

run "vm_over_60_minutes_good" {
  command = plan
  variables {
    runner_type     = "apex"
    max_job_minutes = 240
  }
}

run "serverless_cannot_stop" {
  command = plan
  variables {
    runner_type     = "serverless"
    max_job_minutes = 60
    running         = false
  }
  expect_failures = [output.limits]
}
