//go:build !linux

package tofu

import (
	"os"
	"os/exec"
	"runtime"
)

// setProcAttr is what terraform-exec sets outside Linux: an interrupt when
// the context ends (OpenTofu's graceful stop), a kill on Windows, which has
// no interrupt signal.
func setProcAttr(cmd *exec.Cmd) {
	if runtime.GOOS != "windows" {
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	}
}
