package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// gitlabRunnerStopGrace is how long gitlab-runner has to stop after
// SIGTERM before it is killed (the local module kills the whole process
// group 5 s after its own SIGTERM).
const gitlabRunnerStopGrace = 3 * time.Second

// metricsTimeout bounds one read of gitlab-runner's metrics.
const metricsTimeout = 2 * time.Second

// gitlabRunner is a running `gitlab-runner run` and where its metrics are.
type gitlabRunner struct {
	cmd        *exec.Cmd
	done       chan struct{}
	metricsURL string
	client     *http.Client
	log        interface{ Warn(string, ...any) }

	mu      sync.Mutex
	exitErr error
	warned  bool
}

// startGitLabRunner writes <work-dir>/config.toml (0600) and starts
// `gitlab-runner run --config` with it.
func startGitLabRunner(ctx context.Context, cfg agentConfig, token string) (*gitlabRunner, error) {
	if err := os.MkdirAll(cfg.WorkDir, 0o700); err != nil {
		return nil, fmt.Errorf("work dir: %w", err)
	}
	listen, err := freeLocalAddr()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.WorkDir, "config.toml")
	if err := writeFile0600(path, gitlabRunnerConfig(cfg, token, listen)); err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.GitLabRunner, "run", "--config", path, "--working-directory", cfg.WorkDir)
	cmd.Dir = cfg.WorkDir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.GitLabRunner, err)
	}
	g := &gitlabRunner{cmd: cmd, done: make(chan struct{}), metricsURL: "http://" + listen + "/metrics",
		client: &http.Client{Timeout: metricsTimeout}, log: cfg.Log}
	go func() {
		err := cmd.Wait()
		g.mu.Lock()
		g.exitErr = err
		g.mu.Unlock()
		close(g.done)
	}()
	cfg.Log.Info("gitlab-runner started", "pid", cmd.Process.Pid, "config", path, "metrics", g.metricsURL)
	return g, nil
}

// observe reads gitlab-runner's jobs gauge: BUSY while it counts a job.
// While gitlab-runner is not running or its metrics cannot be read the
// runner is reported IDLE (and the reason logged once).
func (g *gitlabRunner) observe(ctx context.Context) (string, []int64) {
	select {
	case <-g.done:
		g.warnOnce("gitlab-runner has exited; reporting IDLE", "error", g.exited())
		return "IDLE", nil
	default:
	}
	n, err := readRunningJobs(ctx, g.client, g.metricsURL)
	if err != nil {
		g.warnOnce("gitlab-runner metrics cannot be read; reporting IDLE", "error", err)
		return "IDLE", nil
	}
	g.mu.Lock()
	g.warned = false
	g.mu.Unlock()
	if n > 0 {
		return "BUSY", nil // gitlab-runner's metrics count jobs, they do not name them
	}
	return "IDLE", nil
}

func (g *gitlabRunner) exited() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.exitErr
}

func (g *gitlabRunner) warnOnce(msg string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.warned {
		g.warned = true
		g.log.Warn(msg, args...)
	}
}

// stop sends gitlab-runner SIGTERM and waits for it, killing it after
// gitlabRunnerStopGrace.
func (g *gitlabRunner) stop() {
	select {
	case <-g.done:
		return
	default:
	}
	if err := g.cmd.Process.Signal(terminateSignal); err != nil {
		_ = g.cmd.Process.Kill()
	}
	t := time.NewTimer(gitlabRunnerStopGrace)
	defer t.Stop()
	select {
	case <-g.done:
	case <-t.C:
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// gitlabRunnerConfig is config.toml for one runner with the shell
// executor, its metrics on listen.
func gitlabRunnerConfig(cfg agentConfig, token, listen string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by gosling runner; holds the runner token (0600).\n")
	fmt.Fprintf(&b, "concurrent = 1\ncheck_interval = 3\nlisten_address = %s\n\n", tomlString(listen))
	fmt.Fprintf(&b, "[[runners]]\n  name = %s\n  url = %s\n  token = %s\n  executor = \"shell\"\n  builds_dir = %s\n  cache_dir = %s\n",
		tomlString(cfg.RunnerName), tomlString(cfg.GitLabURL), tomlString(token),
		tomlString(filepath.Join(cfg.WorkDir, "builds")), tomlString(filepath.Join(cfg.WorkDir, "cache")))
	return []byte(b.String())
}

// tomlString is s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func writeFile0600(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // an existing file keeps its mode in WriteFile
		return err
	}
	return os.Rename(tmp, path)
}

// freeLocalAddr returns a 127.0.0.1 address with a port free right now.
func freeLocalAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a port for gitlab-runner's metrics: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("free the port found for gitlab-runner's metrics: %w", err)
	}
	return addr, nil
}

// maxMetricsBody bounds a metrics page read.
const maxMetricsBody = 4 << 20

// readRunningJobs reads the Prometheus text exposition at url and returns
// the sum of the gitlab_runner_jobs samples (one per runner and state).
func readRunningJobs(ctx context.Context, client *http.Client, url string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return sumMetric(io.LimitReader(resp.Body, maxMetricsBody), "gitlab_runner_jobs")
}

// sumMetric sums the samples of the metric name in a Prometheus text
// exposition: lines "name value [timestamp]" or "name{labels} value
// [timestamp]"; comments and other metrics are skipped.
func sumMetric(r io.Reader, name string) (float64, error) {
	var sum float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		switch {
		case strings.HasPrefix(rest, "{"):
			end := labelsEnd(rest)
			if end < 0 {
				return 0, fmt.Errorf("metrics: unterminated labels in %q", truncate(line, 120))
			}
			rest = rest[end+1:]
		case strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "\t"):
		default:
			continue // another metric whose name starts with name
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, fmt.Errorf("metrics: no value in %q", truncate(line, 120))
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics: value %q of %s", truncate(fields[0], 40), name)
		}
		sum += v
	}
	return sum, sc.Err()
}

// labelsEnd returns the index of the '}' closing the label set s opens,
// skipping quoted values (with their escapes), or -1.
func labelsEnd(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '}':
			return i
		}
	}
	return -1
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
