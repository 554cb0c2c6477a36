# Test helper. expect = "alive": fails its apply unless the process recorded
# in pid_file is alive and was started with the expected runner id in its
# environment (and notes its pid in pid_file.seen). expect = "stopped": fails
# unless the pid file is gone, the process last seen alive is gone, and the
# runner's log (its work_dir) is still there.
variable "pid_file" {
  type = string
}

variable "runner_id" {
  type = string
}

# The runner's instance id now, and when first checked: passed in so that a
# run's assertions compare them (an assertion cannot mix run.* with output.*).
variable "instance_id" {
  type    = string
  default = ""
}

variable "first_instance_id" {
  type    = string
  default = ""
}

variable "expect" {
  type    = string
  default = "alive"

  validation {
    condition     = contains(["alive", "stopped"], var.expect)
    error_message = "expect must be alive or stopped."
  }
}

resource "terraform_data" "probe" {
  input = var.pid_file
  # A new check replaces the probe, so that its provisioner runs again.
  triggers_replace = var.expect

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    environment = {
      PID_FILE  = var.pid_file
      RUNNER_ID = var.runner_id
      EXPECT    = var.expect
    }
    command = <<-EOT
      set -eu
      if [ "$EXPECT" = stopped ]; then
        [ ! -e "$PID_FILE" ] || { echo "pid file still there" >&2; exit 1; }
        old="$(cat "$PID_FILE.seen")"
        if kill -0 "$old" 2>/dev/null && ! sed 's/.*) //' "/proc/$old/stat" 2>/dev/null | grep -q '^Z'; then
          echo "process $old still runs" >&2; exit 1
        fi
        [ -s "$${PID_FILE%.pid}.log" ] || { echo "the runner's log is gone" >&2; exit 1; }
        exit 0
      fi
      pid="$(cat "$PID_FILE")"
      kill -0 "$pid"
      tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "GOSLING_RUNNER_ID=$RUNNER_ID"
      echo "$pid" >"$PID_FILE.seen"
    EOT
  }
}

output "checked_pid_file" {
  value = terraform_data.probe.input
}

output "instance_id" {
  value = var.instance_id
}

output "same_instance" {
  value = var.first_instance_id == "" || var.first_instance_id == var.instance_id
}
