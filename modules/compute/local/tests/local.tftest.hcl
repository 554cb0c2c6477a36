# The local target for real: apply starts the runner process, a probe checks
# that it runs with the agent environment; running = false stops it and keeps
# the instance and its work_dir, running = true starts it again as the same
# runner; the end of the test destroys it.
# work_dir comes from the command line (make test-modules passes a temp dir);
# tofu test runs in the module directory, so the runner script path is relative.

variables {
  name            = "dev-runner"
  egg             = "payments-api"
  runner_id       = "r-tftest-1"
  runner_type     = "apex"
  image           = "local"
  mothergoose_url = "http://127.0.0.1:8080"
  secret_uris = {
    RUNNER_TOKEN = "env://RUNNER_TOKEN"
  }
  tags = {
    team = "payments"
  }
}

run "plan_has_one_runner" {
  command = plan

  variables {
    runner_command = "./tests/fake-runner.sh"
  }

  assert {
    condition     = terraform_data.runner[0].triggers_replace.pid_file == "${var.work_dir}/r-tftest-1.pid"
    error_message = "pid file is not under work_dir"
  }

  assert {
    condition     = output.labels == { team = "payments", egg = "payments-api", "runner-id" = "r-tftest-1", "managed-by" = "polar-gosling" }
    error_message = "labels do not carry egg, runner-id and managed-by"
  }

  assert {
    condition     = terraform_data.runner[0].triggers_replace.env.GOSLING_SECRET_URIS == jsonencode({ RUNNER_TOKEN = "env://RUNNER_TOKEN" })
    error_message = "the agent does not get its secret URIs"
  }
}

run "apply_starts_the_runner" {
  variables {
    runner_command = "./tests/fake-runner.sh"
  }

  assert {
    condition     = output.address == "127.0.0.1" && output.hostname == "dev-runner.local"
    error_message = "unexpected address or hostname"
  }

  assert {
    condition     = length(output.instance_id) > 0
    error_message = "no instance id"
  }
}

run "runner_process_is_alive" {
  module {
    source = "./tests/probe"
  }

  variables {
    pid_file    = run.apply_starts_the_runner.pid_file
    runner_id   = "r-tftest-1"
    instance_id = run.apply_starts_the_runner.instance_id
  }

  assert {
    condition     = output.checked_pid_file == "${var.work_dir}/r-tftest-1.pid"
    error_message = "probe checked the wrong pid file"
  }
}

run "stop_keeps_the_runner" {
  variables {
    runner_command = "./tests/fake-runner.sh"
    running        = false
  }

  assert {
    condition     = !output.running && length(terraform_data.runner) == 0
    error_message = "the runner process resource is still there"
  }
}

run "runner_process_is_stopped" {
  module {
    source = "./tests/probe"
  }

  variables {
    pid_file          = run.stop_keeps_the_runner.pid_file
    runner_id         = "r-tftest-1"
    expect            = "stopped"
    instance_id       = run.stop_keeps_the_runner.instance_id
    first_instance_id = run.runner_process_is_alive.instance_id
  }

  assert {
    condition     = output.same_instance
    error_message = "stopping replaced the instance"
  }
}

run "start_is_the_same_runner" {
  variables {
    runner_command = "./tests/fake-runner.sh"
    running        = true
  }

  assert {
    condition     = output.running && length(terraform_data.runner) == 1
    error_message = "starting again made another instance, or no process"
  }
}

run "runner_process_is_alive_again" {
  module {
    source = "./tests/probe"
  }

  variables {
    pid_file          = run.start_is_the_same_runner.pid_file
    runner_id         = "r-tftest-1"
    instance_id       = run.start_is_the_same_runner.instance_id
    first_instance_id = run.runner_process_is_stopped.instance_id # checked equal to the first
  }

  assert {
    condition     = output.same_instance
    error_message = "starting again made another instance"
  }
}
