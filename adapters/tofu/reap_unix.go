//go:build unix

package tofu

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reap stops a local runner process that the runner's workspace state does
// not hold, and removes its pid file. Such a process is what a killed
// MotherGoose leaves when it dies during a create apply: tofu dies with it
// (terraform-exec starts it with a parent-death signal), but the module's
// local-exec shell outlives tofu and starts the runner, whose resource the
// state never records. Left alone, the retry's apply fails ("runner already
// running"), and a destroy plan, finding no resource, leaves the process
// running without a runner.
func (c *Compute) reap(ctx context.Context, runnerID string) error {
	pidFile := c.localPidFile(runnerID)
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || syscall.Kill(-pid, 0) != nil {
		return nil // no such process group: nothing runs
	}
	if _, exists, err := c.Deployed(ctx, runnerID); err != nil || exists {
		return err // the state holds it: a destroy plan stops it
	}
	// The runner leads its own process group (setsid): stop the group,
	// as the module's destroy provisioner does.
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	for i := 0; i < 50 && syscall.Kill(-pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if syscall.Kill(-pid, 0) == nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
