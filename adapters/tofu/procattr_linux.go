package tofu

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr is what terraform-exec sets on Linux: tofu in its own process
// group, killed when MotherGoose dies, and interrupted (OpenTofu's graceful
// stop, which releases the state lock) when its context ends.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
}
