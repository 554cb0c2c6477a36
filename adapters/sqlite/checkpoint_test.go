package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

// The WAL is copied back into the database file in the background, long
// before the writers' backstop (8192 pages) would make an appender do it.
func TestCheckpointsRunInTheBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gosling.db")
	db := mustOpen(t, path)
	start := fileSize(t, path)
	for i := range 300 {
		rec := porttest.NewRecord(events.RunnerStateChangedV1, events.RunnerStateChanged{RunnerID: "r", From: "ACTIVE", To: "BUSY", Reason: fmt.Sprintf("step %d %0500d", i, i)})
		if _, err := db.Events().Append(context.Background(), fmt.Sprintf("ckpt-%d", i), ports.NoStream(), []events.Record{rec}); err != nil {
			t.Fatal(err)
		}
	}
	// 300 events of ~600 bytes fill ~45 pages of the log table alone.
	want := start + 40*4096
	deadline := time.Now().Add(5 * time.Second)
	for fileSize(t, path) < want {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes (was %d) 5 s after 300 appends: no background checkpoint", fileSize(t, path), start)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
