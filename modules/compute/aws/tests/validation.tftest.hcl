# Run from tests/offline (make test-modules): the module's variables and locals
# without the AWS plugin. Every rule accepts a good value and rejects a bad one.

variables {
  name            = "payments-runner"
  egg             = "payments-api"
  runner_id       = "r-aws-1"
  runner_type     = "apex"
  image           = "ami-0123456789abcdef0"
  region          = "eu-central-1"
  subnet_ids      = ["subnet-0123abcd"]
  mothergoose_url = "https://mothergoose.example.com"
  secret_uris     = { RUNNER_TOKEN = "aws-sm://gitlab/gitlab.com/payments-api/runner-token" }
  tags            = { team = "payments" }
}

run "vm_defaults" {
  command = plan

  assert {
    condition     = output.labels == { team = "payments", egg = "payments-api", "runner-id" = "r-aws-1", "managed-by" = "polar-gosling" }
    error_message = "labels do not carry egg, runner-id and managed-by"
  }

  assert {
    condition     = startswith(output.user_data, "#cloud-config\n")
    error_message = "user data is not cloud-config"
  }

  assert {
    condition     = strcontains(output.user_data, "https://mothergoose.example.com/v1/binaries/gosling/latest/linux-amd64")
    error_message = "user data does not install the agent from MotherGoose"
  }

  assert {
    condition     = strcontains(output.user_data, "aws-sm://gitlab/gitlab.com/payments-api/runner-token") && strcontains(output.user_data, "systemctl")
    error_message = "user data does not pass the secret URIs or start the agent"
  }

  assert {
    condition     = !output.is_serverless
    error_message = "apex is not serverless"
  }
}

run "serverless_good" {
  command = plan

  variables {
    runner_type        = "serverless"
    image              = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/gosling-runner:1.4"
    ecs_cluster_arn    = "arn:aws:ecs:eu-central-1:123456789012:cluster/gosling"
    security_group_ids = ["sg-0123abcd"]
    max_job_minutes    = 60
    instance_type      = "m6i.xlarge"
  }

  assert {
    condition     = output.is_serverless && output.agent_env.GOSLING_MAX_JOB_MINUTES == "60"
    error_message = "serverless runner with a 60 minute limit"
  }
}

run "region_us_gov_good" {
  command = plan
  variables {
    region = "us-gov-west-1"
  }

  assert {
    condition     = output.agent_env.GOSLING_REGION == "us-gov-west-1"
    error_message = "the agent's Secrets Manager client reads the runner's region"
  }
}

run "bad_region" {
  command = plan
  variables {
    region = "ru-central1-a"
  }
  expect_failures = [var.region]
}

run "bad_instance_type" {
  command = plan
  variables {
    instance_type = "large"
  }
  expect_failures = [var.instance_type]
}

run "no_subnets" {
  command = plan
  variables {
    subnet_ids = []
  }
  expect_failures = [var.subnet_ids]
}

run "bad_subnet" {
  command = plan
  variables {
    subnet_ids = ["e9b0123456789abcdefg"]
  }
  expect_failures = [var.subnet_ids]
}

run "bad_security_group" {
  command = plan
  variables {
    security_group_ids = ["default"]
  }
  expect_failures = [var.security_group_ids]
}

run "bad_cluster_arn" {
  command = plan
  variables {
    ecs_cluster_arn = "gosling"
  }
  expect_failures = [var.ecs_cluster_arn]
}

run "bad_name" {
  command = plan
  variables {
    name = "payments_runner"
  }
  expect_failures = [var.name]
}

run "bad_image" {
  command = plan
  variables {
    image = ""
  }
  expect_failures = [var.image]
}

run "bad_tags" {
  command = plan
  variables {
    tags = { team = "Payments Team" }
  }
  expect_failures = [var.tags]
}

run "bad_secret_uri" {
  command = plan
  variables {
    secret_uris = { RUNNER_TOKEN = "glrt-plaintext-token" }
  }
  expect_failures = [var.secret_uris]
}

run "bad_memory" {
  command = plan
  variables {
    memory_mb = 524289
  }
  expect_failures = [var.memory_mb]
}

run "serverless_over_60_minutes" {
  command = plan
  variables {
    runner_type     = "serverless"
    image           = "gosling-runner:1.4"
    ecs_cluster_arn = "arn:aws:ecs:eu-central-1:123456789012:cluster/gosling"
    max_job_minutes = 61
  }
  expect_failures = [output.limits]
}

run "fargate_bad_size" {
  command = plan
  variables {
    runner_type     = "serverless"
    image           = "gosling-runner:1.4"
    ecs_cluster_arn = "arn:aws:ecs:eu-central-1:123456789012:cluster/gosling"
    cpu             = 3
  }
  expect_failures = [output.limits]
}

run "serverless_without_cluster" {
  command = plan
  variables {
    runner_type = "serverless"
    image       = "gosling-runner:1.4"
  }
  expect_failures = [output.limits]
}

run "vm_with_container_image" {
  command = plan
  variables {
    image = "gosling-runner:1.4"
  }
  expect_failures = [output.limits]
}

run "vm_over_60_minutes_good" {
  command = plan
  variables {
    max_job_minutes = 240
  }
}

# The power state (aws_ec2_instance_state follows local.running): running by
# default, stopped when made as nadir, and the running input wins either way.
run "power_apex_runs_by_default" {
  command = plan
  assert {
    condition     = output.running
    error_message = "an apex runner must run unless running = false"
  }
}

run "power_nadir_made_stopped" {
  command = plan
  variables {
    runner_type = "nadir"
  }
  assert {
    condition     = !output.running
    error_message = "a runner made as nadir must be stopped when running is unset"
  }
}

run "power_demoted_stops" {
  command = plan
  variables {
    running = false
  }
  assert {
    condition     = !output.running && output.agent_env.GOSLING_RUNNER_TYPE == "apex"
    error_message = "running = false must stop the instance without changing its runner_type (a change replaces it)"
  }
}

run "power_promoted_nadir_starts" {
  command = plan
  variables {
    runner_type = "nadir"
    running     = true
  }
  assert {
    condition     = output.running
    error_message = "running = true must start a runner made as nadir"
  }
}

run "power_serverless_cannot_stop" {
  command = plan
  variables {
    runner_type        = "serverless"
    image              = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/gosling-runner:1.4"
    ecs_cluster_arn    = "arn:aws:ecs:eu-central-1:123456789012:cluster/gosling"
    security_group_ids = ["sg-0123abcd"]
    running            = false
  }
  expect_failures = [output.limits]
}
