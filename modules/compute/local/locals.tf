locals {
  labels = merge(var.tags, {
    "egg"        = var.egg
    "runner-id"  = var.runner_id
    "managed-by" = "polar-gosling"
  })

  hostname = "${var.name}.local"

  # The desired power state: the running input, or, unset, running unless
  # the runner was made as nadir. Stopped, the process is gone and the
  # workspace (work_dir, the adapter's credential) and the instance stay.
  running  = var.running == null ? var.runner_type != "nadir" : var.running
  pid_file = "${var.work_dir}/${var.runner_id}.pid"
  log_file = "${var.work_dir}/${var.runner_id}.log"

  # The agent's environment: where MotherGoose is and where its secrets live
  # (URIs only; the agent resolves them).
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
  }
}
