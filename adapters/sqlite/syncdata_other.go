//go:build !linux

package sqlite

import "os"

// syncData makes f durable with the platform's own call: os.File.Sync is
// F_FULLFSYNC on macOS (a plain fsync there leaves data in the drive's
// cache) and FlushFileBuffers on Windows. Neither platform offers
// fdatasync, so appends pay for a full sync there; Linux, where servers
// run, keeps the cheaper fdatasync (syncdata_linux.go).
func syncData(f *os.File) error { return f.Sync() }
