//go:build !windows

package main

import "syscall"

// terminateSignal asks gitlab-runner to stop.
var terminateSignal = syscall.SIGTERM
