# Provider-free values (tests/offline checks them without the provider plugin).
locals {
  is_serverless = var.runner_type == "serverless"

  # The desired power state of a VM runner: the running input, or, unset,
  # running unless the runner was made as nadir. The provisioner sets it
  # from the runner's pool (Nadir stopped) and keeps runner_type as made,
  # since a changed runner_type changes the user data and so replaces the VM.
  running = var.running == null ? var.runner_type != "nadir" : var.running

  labels = merge(var.tags, {
    "egg"        = var.egg
    "runner-id"  = var.runner_id
    "managed-by" = "polar-gosling"
  })

  # The agent's environment: where MotherGoose is and where its secrets live.
  # URIs only: the agent resolves them at start with the instance role (aws) or
  # the service account (yandex).
  agent_env = {
    GOSLING_MOTHERGOOSE_URL = var.mothergoose_url
    GOSLING_RUNNER_ID       = var.runner_id
    GOSLING_RUNNER_NAME     = var.name
    GOSLING_RUNNER_TYPE     = var.runner_type
    GOSLING_EGG             = var.egg
    GOSLING_AGENT_VERSION   = var.agent_version
    GOSLING_MAX_JOB_MINUTES = tostring(var.max_job_minutes)
    GOSLING_LABELS          = jsonencode(local.labels)
    GOSLING_SECRET_URIS     = jsonencode(var.secret_uris)
    # The runner's region: the agent reads aws-sm:// secrets there (the AWS
    # SDK does not read an instance's region from its metadata).
    GOSLING_REGION = var.region
  }

  agent_url = "${trimsuffix(var.mothergoose_url, "/")}/v1/binaries/gosling/${var.agent_version}/linux-amd64"

  # cloud-init: install the agent from MotherGoose and run it as a service.
  user_data = join("\n", ["#cloud-config", yamlencode({
    write_files = [
      {
        path        = "/etc/gosling/runner.env"
        permissions = "0600"
        content     = join("", [for k in sort(keys(local.agent_env)) : "${k}='${local.agent_env[k]}'\n"])
      },
      {
        path        = "/etc/systemd/system/gosling-runner.service"
        permissions = "0644"
        content     = <<-EOT
          [Unit]
          Description=Gosling runner agent
          After=network-online.target
          Wants=network-online.target

          [Service]
          EnvironmentFile=/etc/gosling/runner.env
          ExecStart=/usr/local/bin/gosling runner
          Restart=always
          RestartSec=5

          [Install]
          WantedBy=multi-user.target
        EOT
      },
    ]
    runcmd = [
      ["sh", "-c", "curl -fsSL --retry 10 --retry-connrefused -o /usr/local/bin/gosling '${local.agent_url}' && chmod 0755 /usr/local/bin/gosling"],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--now", "gosling-runner.service"],
    ]
  })])
}
