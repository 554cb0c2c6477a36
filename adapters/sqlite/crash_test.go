package sqlite_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polar-gosling/polar-gosling/adapters/sqlite"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/ports/porttest"
)

// The crash test re-runs this test binary as a child that appends under load
// and prints one line per acknowledged append. The parent kills it with
// SIGKILL at a random moment, reopens the file and checks that every
// acknowledged append is there and that no batch is partial.

const crashChildEnv = "GOSLING_SQLITE_CRASH_CHILD"

type crashBatch struct {
	Batch string `json:"batch"`
	Size  int    `json:"size"`
	Index int    `json:"index"`
}

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild appends forever (until killed) from 8 goroutines; each append is
// a batch of 1..5 events carrying its batch id and size.
func crashChild(path string) {
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(30 * time.Second) // stops by itself if never killed
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("crash-%d-%d", os.Getpid(), w)
			var version uint64
			for n := 0; time.Now().Before(deadline); n++ {
				size := 1 + n%5
				batch := fmt.Sprintf("%s-b%d", stream, n)
				evs := make([]events.Record, size)
				for i := range evs {
					evs[i] = porttest.NewRecord(events.RunnerStateChangedV1, crashBatch{Batch: batch, Size: size, Index: i})
				}
				res, err := db.Events().Append(context.Background(), stream, ports.At(version), evs)
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(4)
				}
				version = res.LastVersion
				out.Lock()
				fmt.Fprintf(os.Stdout, "%s %d %d\n", batch, res.FirstPosition, res.LastPosition)
				out.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}

func TestCrashSafety_kill9_keeps_every_acknowledged_append(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test restarts a child process many times; skipped under -short")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	rounds := 25
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acked := map[string][2]uint64{}
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for the child to be appending, then kill it at a random moment.
		first, ok := <-lines
		if !ok {
			cmd.Wait()
			t.Fatalf("round %d: child produced no append: %s", round, stderr.String())
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		record := func(line string) {
			var batch string
			var p0, p1 uint64
			if _, err := fmt.Sscanf(line, "%s %d %d", &batch, &p0, &p1); err != nil {
				t.Fatalf("bad child line %q", line)
			}
			acked[batch] = [2]uint64{p0, p1}
		}
		record(first)
		for line := range lines {
			record(line)
		}
		cmd.Wait()
		if strings.Contains(stderr.String(), "append:") {
			t.Fatalf("round %d: child append failed: %s", round, stderr.String())
		}
	}
	db := mustOpen(t, path)
	found := map[string][]crashBatch{}
	at := map[uint64]string{} // position -> batch found there
	var pos uint64
	for {
		recs, err := db.Events().ReadAll(context.Background(), pos, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			var b crashBatch
			if err := json.Unmarshal(r.Payload, &b); err != nil {
				t.Fatalf("position %d: %v", r.GlobalPosition, err)
			}
			found[b.Batch] = append(found[b.Batch], b)
			at[r.GlobalPosition] = b.Batch
			pos = r.GlobalPosition
		}
	}
	for batch, parts := range found {
		if len(parts) != parts[0].Size {
			t.Fatalf("batch %s is partial: %d of %d events", batch, len(parts), parts[0].Size)
		}
	}
	for batch, span := range acked {
		if _, ok := found[batch]; !ok {
			t.Fatalf("acknowledged batch %s is missing after kill -9", batch)
		}
		// And it is where the append said it was.
		for p := span[0]; p <= span[1]; p++ {
			if at[p] != batch {
				t.Fatalf("acknowledged batch %s was at positions %d..%d, but position %d holds %q", batch, span[0], span[1], p, at[p])
			}
		}
	}
	t.Logf("%d rounds, %d acknowledged batches, %d batches on disk, all acknowledged present, none partial", rounds, len(acked), len(found))
}
