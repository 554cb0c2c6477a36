// Command fakegitlabrunner stands in for `gitlab-runner run --config FILE`
// in the integration tests: it serves, at the config's listen_address,
// the Prometheus metrics the agent reads, with gitlab_runner_jobs 1 while
// the file $FAKE_GITLAB_RUNNER_BUSY_DIR/$GOSLING_RUNNER_ID exists (the test
// makes a runner BUSY by creating it) and 0 otherwise. It never contacts
// GitLab. It stops on SIGTERM, as gitlab-runner does.
package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	var config string
	for i, a := range os.Args {
		if a == "--config" && i+1 < len(os.Args) {
			config = os.Args[i+1]
		}
	}
	listen, err := listenAddress(config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakegitlabrunner:", err)
		os.Exit(1)
	}
	busy := filepath.Join(os.Getenv("FAKE_GITLAB_RUNNER_BUSY_DIR"), os.Getenv("GOSLING_RUNNER_ID"))
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		jobs := 0
		if _, err := os.Stat(busy); err == nil && os.Getenv("FAKE_GITLAB_RUNNER_BUSY_DIR") != "" {
			jobs = 1
		}
		fmt.Fprintf(w, "# TYPE gitlab_runner_jobs gauge\ngitlab_runner_jobs{runner=\"fake\",state=\"running\"} %d\n", jobs)
	})
	srv := &http.Server{Addr: listen, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "fakegitlabrunner:", err)
		os.Exit(1)
	}
}

// listenAddress reads `listen_address = "host:port"` from the config.
func listenAddress(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.TrimSpace(k) == "listen_address" {
			return strconv.Unquote(strings.TrimSpace(v))
		}
	}
	return "", fmt.Errorf("%s: no listen_address", path)
}
