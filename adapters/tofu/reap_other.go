//go:build !unix

package tofu

import "context"

// reap is a no-op where the local target cannot run (it needs /bin/sh and setsid).
func (c *Compute) reap(context.Context, string) error { return nil }
