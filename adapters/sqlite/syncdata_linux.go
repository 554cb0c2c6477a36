package sqlite

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData flushes f's data and whatever metadata reading it back needs
// (its size), not its timestamps: fdatasync, which spares the journal
// commit an mtime change would cost fsync once SQLite reuses the WAL.
func syncData(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
