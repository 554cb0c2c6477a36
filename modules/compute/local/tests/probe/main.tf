# Test helper: fails its apply unless the process recorded in pid_file is alive
# and was started with the expected runner id in its environment.
variable "pid_file" {
  type = string
}

variable "runner_id" {
  type = string
}

resource "terraform_data" "probe" {
  input = var.pid_file

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    environment = {
      PID_FILE  = var.pid_file
      RUNNER_ID = var.runner_id
    }
    command = <<-EOT
      set -eu
      pid="$(cat "$PID_FILE")"
      kill -0 "$pid"
      tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "GOSLING_RUNNER_ID=$RUNNER_ID"
    EOT
  }
}

output "checked_pid_file" {
  value = terraform_data.probe.input
}
