package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

func TestLastSeenContract(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "gosling.db"))
	porttest.LastSeen(t, func(t *testing.T) ports.LastSeen { return db.LastSeen() })
}
