# The runner instance: its identity (instance_id) and its work_dir. It stays
# while the runner is stopped (running = false, the Nadir pool), so that a
# start is the same runner, not a new one.
resource "terraform_data" "instance" {
  triggers_replace = {
    runner_id = var.runner_id
    work_dir  = var.work_dir
  }
}

# One runner process on this machine, while the runner runs: running = false
# destroys this resource only (the process stops; the work_dir with its log,
# and the adapter's workspace with the credential, stay), running = true
# creates it again with the same environment (runner id, credential URI).
# The create provisioner starts runner_command in its own session (setsid, so
# its pid is its process group) and records the pid; the destroy provisioner
# stops the group and waits until it is gone. Anything that changes the
# process is in triggers_replace, so a change replaces the process (stop,
# then start).
resource "terraform_data" "runner" {
  count = local.running ? 1 : 0

  triggers_replace = {
    command  = var.runner_command
    pid_file = local.pid_file
    log_file = local.log_file
    env      = local.agent_env
  }

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    environment = merge(local.agent_env, {
      RUNNER_COMMAND = var.runner_command
      PID_FILE       = local.pid_file
      LOG_FILE       = local.log_file
    })
    command = <<-EOT
      set -eu
      mkdir -p "$(dirname "$PID_FILE")"
      if [ -s "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        echo "runner already running with pid $(cat "$PID_FILE")" >&2
        exit 1
      fi
      # Appended: a runner started again (promoted) keeps its earlier log.
      nohup setsid /bin/sh -c "$RUNNER_COMMAND" >>"$LOG_FILE" 2>&1 </dev/null &
      echo $! >"$PID_FILE.tmp"
      mv "$PID_FILE.tmp" "$PID_FILE"
      sleep 0.2
      kill -0 "$(cat "$PID_FILE")" || { echo "runner exited at once; see $LOG_FILE" >&2; exit 1; }
    EOT
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["/bin/sh", "-c"]
    environment = {
      PID_FILE = self.triggers_replace.pid_file
    }
    command = <<-EOT
      set -u
      [ -s "$PID_FILE" ] || exit 0
      pid="$(cat "$PID_FILE")"
      # The runner leads its own process group (setsid): signal the group.
      # (dash's kill takes no "--": the negative pid follows the signal.)
      # alive: the leader exists and is not a zombie, or any group member exists.
      alive() { { kill -0 "$1" 2>/dev/null && ! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'; } || kill -0 -"$1" 2>/dev/null; }
      kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      i=0
      while alive "$pid" && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
      if alive "$pid"; then
        kill -KILL -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      fi
      rm -f "$PID_FILE"
    EOT
  }
}
