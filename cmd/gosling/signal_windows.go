//go:build windows

package main

import "os"

// terminateSignal: Windows has no SIGTERM to send; gitlab-runner is killed.
var terminateSignal = os.Kill
